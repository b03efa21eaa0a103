#!/usr/bin/env bash
# Scheduler benchmark: herd's scheduler (herd-cib + herd-sched) against Debian's crm_simulate
# on the same inputs, with per-case wall time, CPU time and peak memory side by side.
#
#   bench/sched.sh [synth|corpus|all|diff]     (default: all)
#
# synth:  deterministic synthetic clusters (herd-synth: groups, clones, location/colocation/
#         order constraints, about half of the resources running) of HERD_BENCH_NODES nodes
#         (32) and HERD_BENCH_SIZES resources (100 ... 10000). crm_simulate runs only up to
#         HERD_BENCH_CRM_MAX resources (1000; it grows about as n²) and is stopped after
#         HERD_BENCH_CRM_TIMEOUT seconds (300).
# corpus: every case of the dev corpus (HERD_SCHEDULER_CASES or ../shared/scheduler-cases),
#         one process per case for both, then the totals.
#
# diff:   not a benchmark but a differential check beyond the corpus: HERD_BENCH_DIFF_SEEDS
#         (40) small synthetic clusters (3-8 nodes, 8-120 resources), each scheduled by herd and
#         by crm_simulate, listing the seeds whose Transition Summary differs.
#
# crm_simulate runs as `LC_ALL=C crm_simulate -x FILE -R` (compute the transition, as herd
# does); HERD_BENCH_CRM_MODE=-S makes it also simulate the execution. Time and memory come from
# /usr/bin/time (user+sys CPU seconds, max RSS). The `match` column compares the normalized
# Transition Summary lines of the two (exact / multiset / differ). Figures depend on the state
# of herd-sched at the time of the run. Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export HERD_HEAVY_TESTS=1

part="${1:-all}"
sizes="${HERD_BENCH_SIZES:-100 250 500 1000 2000 5000 10000}"
nodes="${HERD_BENCH_NODES:-32}"
seed="${HERD_BENCH_SEED:-1}"
crm_max="${HERD_BENCH_CRM_MAX:-1000}"
crm_timeout="${HERD_BENCH_CRM_TIMEOUT:-300}"
crm_mode="${HERD_BENCH_CRM_MODE:--R}"
cases="${HERD_SCHEDULER_CASES:-../shared/scheduler-cases}"
work="target/bench-sched"
crm_simulate="${CRM_SIMULATE:-/usr/sbin/crm_simulate}"

[ -x /usr/bin/time ] || { echo "bench/sched.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
[ -x "$crm_simulate" ] || { echo "bench/sched.sh: needs $crm_simulate (pacemaker-cli-utils)" >&2; exit 2; }

echo "building herd-corpus (release)..." >&2
cargo build --release -q -p herd-corpus --bins
bin="target/release"
mkdir -p "$work"

# Normalizes a crm_simulate output's Transition Summary the way the corpus README says.
summary_lines() {
  awk '
    /^Transition Summary:$/ { inside = 1; next }
    inside && (/^$/ || /^[^ \t]/) { exit }
    inside {
      sub(/^[ \t]+/, ""); sub(/[ \t]+$/, ""); sub(/^\*[ \t]*/, "")
      gsub(/[ \t]+/, " ")
      gsub(/ocf::/, "ocf:"); gsub(/Masters:/, "Promoted:"); gsub(/Slaves:/, "Unpromoted:")
      gsub(/Master/, "Promoted"); gsub(/Slave/, "Unpromoted")
      print
    }' "$1"
}

# compare FILE_A FILE_B -> exact | multiset | differ
compare() {
  if cmp -s "$1" "$2"; then echo exact
  elif cmp -s <(sort "$1") <(sort "$2"); then echo multiset
  else echo differ; fi
}

# run_timed OUT_PREFIX TIMEOUT CMD... -> writes OUT.out, OUT.time ("wall user sys maxkb"),
# prints the command's exit status
run_timed() {
  local prefix="$1" limit="$2"; shift 2
  local status=0
  /usr/bin/time -f '%e %U %S %M' -o "$prefix.time" timeout "$limit" "$@" >"$prefix.out" 2>&1 \
    || status=$?
  echo "$status"
}

# in-process milliseconds (parse + schedule) from herd-sched-bench output, summed over files
herd_ms() {
  awk '/^[0-9]/ { ms += $1 + $2 } END { printf "%.1f\n", ms }' "$1"
}

# cpu_ratio CRM_CPU_S HERD_CPU_S HERD_MS: crm_simulate CPU over herd's. /usr/bin/time counts
# CPU in 10 ms ticks, so herd's figure is at least its in-process time.
cpu_ratio() {
  awk -v c="$1" -v h="$2" -v ms="$3" 'BEGIN {
    if (ms / 1000 > h) h = ms / 1000
    if (h < 0.0001) h = 0.0001
    printf "%.0f\n", c / h
  }'
}

# fields of a .time file: wall cpu(user+sys) peak_mb
time_fields() {
  awk '{ printf "%.3f %.3f %.1f\n", $1, $2 + $3, $4 / 1024 }' "$1"
}

synth() {
  printf '\n== synthetic clusters: %s nodes, seed %s, crm_simulate %s ==\n' "$nodes" "$seed" "$crm_mode"
  printf '%-9s | %9s %7s %8s %6s | %9s %9s %8s %6s | %8s | %s\n' resources \
    "herd ms" "cpu s" "peak MB" lines "crm s" "cpu s" "peak MB" lines "cpu x" match
  for n in $sizes; do
    local file="$work/synth-$n.xml"
    "$bin/herd-synth" --nodes "$nodes" --resources "$n" --seed "$seed" -o "$file"
    local herd_status
    herd_status=$(run_timed "$work/synth-$n.herd" 600 "$bin/herd-sched-bench" --lines "$file")
    read -r h_wall h_cpu h_mb < <(time_fields "$work/synth-$n.herd.time")
    h_wall=$(herd_ms "$work/synth-$n.herd.out")
    sed -n 's/^  //p' "$work/synth-$n.herd.out" > "$work/synth-$n.herd.lines"
    local h_lines
    h_lines=$(wc -l < "$work/synth-$n.herd.lines")
    [ "$herd_status" = 0 ] || h_lines="exit$herd_status"
    if [ "$n" -le "$crm_max" ]; then
      local crm_status
      crm_status=$(run_timed "$work/synth-$n.crm" "$crm_timeout" env LC_ALL=C "$crm_simulate" -x "$file" "$crm_mode")
      if [ "$crm_status" = 124 ]; then
        printf '%-9s | %9s %7s %8s %6s | %9s %9s %8s %6s | %8s | %s\n' "$n" "$h_wall" "$h_cpu" "$h_mb" "$h_lines" \
          ">${crm_timeout}" - - timeout - -
        continue
      fi
      read -r c_wall c_cpu c_mb < <(time_fields "$work/synth-$n.crm.time")
      summary_lines "$work/synth-$n.crm.out" > "$work/synth-$n.crm.lines"
      local c_lines ratio match
      c_lines=$(wc -l < "$work/synth-$n.crm.lines")
      ratio=$(cpu_ratio "$c_cpu" "$h_cpu" "$h_wall")
      match=$(compare "$work/synth-$n.herd.lines" "$work/synth-$n.crm.lines")
      printf '%-9s | %9s %7s %8s %6s | %9s %9s %8s %6s | %8s | %s\n' "$n" "$h_wall" "$h_cpu" "$h_mb" "$h_lines" \
        "$c_wall" "$c_cpu" "$c_mb" "$c_lines" "$ratio" "$match"
    else
      printf '%-9s | %9s %7s %8s %6s | %9s %9s %8s %6s | %8s | %s\n' "$n" "$h_wall" "$h_cpu" "$h_mb" "$h_lines" \
        skipped - - - - -
    fi
  done
}

corpus() {
  local dev="$cases/dev"
  [ -d "$dev" ] || { echo "bench/sched.sh: no corpus at $dev (set HERD_SCHEDULER_CASES)" >&2; exit 2; }
  local out="$work/corpus.tsv"
  printf '\n== dev corpus: every case, one process each, crm_simulate %s ==\n' "$crm_mode"
  printf '%-45s | %8s %8s %7s | %8s %8s %7s | %6s | %s\n' case "herd ms" "cpu s" "peak MB" \
    "crm s" "cpu s" "peak MB" "cpu x" match
  printf 'case\therd_ms\therd_cpu\therd_mb\tcrm_wall\tcrm_cpu\tcrm_mb\tmatch\n' > "$out"
  local dir name
  for dir in "$dev"/*/; do
    name=$(basename "$dir")
    local prefix="$work/case"
    run_timed "$prefix.herd" 120 "$bin/herd-sched-bench" --lines "$dir/input.xml" >/dev/null
    read -r h_wall h_cpu h_mb < <(time_fields "$prefix.herd.time")
    h_wall=$(herd_ms "$prefix.herd.out")
    sed -n 's/^  //p' "$prefix.herd.out" > "$prefix.herd.lines"
    run_timed "$prefix.crm" "$crm_timeout" env LC_ALL=C "$crm_simulate" -x "$dir/input.xml" "$crm_mode" >/dev/null
    read -r c_wall c_cpu c_mb < <(time_fields "$prefix.crm.time")
    summary_lines "$prefix.crm.out" > "$prefix.crm.lines"
    local match ratio
    match=$(compare "$prefix.herd.lines" "$prefix.crm.lines")
    ratio=$(cpu_ratio "$c_cpu" "$h_cpu" "$h_wall")
    printf '%-45s | %8s %8s %7s | %8s %8s %7s | %6s | %s\n' "$name" "$h_wall" "$h_cpu" "$h_mb" \
      "$c_wall" "$c_cpu" "$c_mb" "$ratio" "$match"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$h_wall" "$h_cpu" "$h_mb" "$c_wall" "$c_cpu" "$c_mb" "$match" >> "$out"
  done
  # One herd process over every case: CPU without 530 process start-ups.
  local inproc="$work/corpus-inprocess"
  run_timed "$inproc" 600 "$bin/herd-sched-bench" "$dev"/*/input.xml >/dev/null
  read -r i_wall i_cpu i_mb < <(time_fields "$inproc.time")
  printf '\n== dev corpus totals (%s cases) ==\n' "$(($(wc -l < "$out") - 1))"
  awk -F'\t' -v iwall="$i_wall" -v icpu="$i_cpu" -v imb="$i_mb" '
    NR > 1 {
      n++; hw += $2; hc += $3; cw += $5; cc += $6
      if ($4 > hm) hm = $4; if ($7 > cm) cm = $7
      m[$8]++
    }
    END {
      printf "herd parse+schedule, summed over cases (in-process): %8.2f s\n", hw / 1000
      printf "herd, one process for all cases:  wall %8.2f s  cpu %8.2f s  peak     %6.1f MB\n", iwall, icpu, imb
      printf "herd, one process per case:       cpu  %8.2f s (10 ms ticks)  max peak %6.1f MB\n", hc, hm
      printf "crm_simulate, one per case:       wall %8.2f s  cpu %8.2f s  max peak %6.1f MB\n", cw, cc, cm
      printf "cpu per case: crm_simulate %.4f s, herd %.4f s (one process) / %.4f s (in-process)\n", \
        cc / n, icpu / n, hw / 1000 / n
      printf "crm_simulate cpu / herd cpu: %.1fx (herd one process, incl. reading files), %.1fx (herd in-process)\n", \
        cc / (icpu > 0 ? icpu : 0.001), cc / (hw > 0 ? hw / 1000 : 0.001)
      printf "summary lines vs this crm_simulate: exact %d, multiset-only %d, differ %d\n", m["exact"], m["multiset"], m["differ"]
    }' "$out"
  echo "(per-case rows also in $out)"
}

diff_small() {
  local n_seeds="${HERD_BENCH_DIFF_SEEDS:-40}" same=0 order=0 differ=0 differing=""
  printf '\n== differential: %s small synthetic clusters, herd vs crm_simulate %s ==\n' "$n_seeds" "$crm_mode"
  for s in $(seq 1 "$n_seeds"); do
    local n_nodes=$((3 + s % 6)) n_rsc=$((8 + (s * 37) % 113))
    local file="$work/diff-$s.xml"
    "$bin/herd-synth" --nodes "$n_nodes" --resources "$n_rsc" --seed "$s" -o "$file"
    "$bin/herd-sched-bench" --lines "$file" | sed -n 's/^  //p' > "$file.herd.lines"
    LC_ALL=C timeout "$crm_timeout" "$crm_simulate" -x "$file" "$crm_mode" > "$file.crm.out" 2>&1 || true
    summary_lines "$file.crm.out" > "$file.crm.lines"
    case "$(compare "$file.herd.lines" "$file.crm.lines")" in
      exact) same=$((same + 1)) ;;
      multiset) order=$((order + 1)); differing="$differing $s(order)" ;;
      *) differ=$((differ + 1)); differing="$differing $s" ;;
    esac
  done
  printf 'exact %d, order only %d, differ %d of %d\n' "$same" "$order" "$differ" "$n_seeds"
  [ -z "$differing" ] || printf 'differing seeds:%s\n(inspect: diff %s/diff-SEED.xml.herd.lines %s/diff-SEED.xml.crm.lines)\n' \
    "$differing" "$work" "$work"
}

case "$part" in
  diff) diff_small ;;
  synth) synth ;;
  corpus) corpus ;;
  all) synth; corpus ;;
  *) echo "usage: bench/sched.sh [synth|corpus|all|diff]" >&2; exit 2 ;;
esac
