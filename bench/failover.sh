#!/usr/bin/env bash
# bench/failover.sh [RUNS]: failure detection and DC failover of three `herd agent` processes
# on loopback, over RUNS (default 10) SIGKILLs of a non-DC node and RUNS SIGKILLs of the DC.
#
# detection = SIGKILL of a non-DC node -> the DC logs it `lost`
# failover  = SIGKILL of the DC        -> another node logs "this node is now the DC"
# Both are read from the agents' own log timestamps (same clock as the kill), so polling does
# not blur them. Prints min/median/max in milliseconds. Not a test: it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
herd=${HERD:-target/release/herd}
if [ -z "${HERD:-}" ]; then
  cargo build --release -q -p herd
fi
command -v jq >/dev/null || { echo "bench/failover.sh needs jq" >&2; exit 2; }

dir=$(mktemp -d /tmp/herd-failover.XXXXXX)
declare -A pid
cleanup() {
  for n in n1 n2 n3; do [ -n "${pid[$n]:-}" ] && kill -9 "${pid[$n]}" 2>/dev/null || true; done
  if [ -n "${KEEP:-}" ]; then echo "logs kept in $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT

base=$((27000 + RANDOM % 2000))
"$herd" keygen "$dir/key" >/dev/null
for i in 1 2 3; do
  {
    echo "cluster = \"bench\""
    echo "node = \"n$i\""
    echo "data_dir = \"$dir/n$i\""
    echo "key_file = \"$dir/key\""
    for j in 1 2 3; do
      printf '[[nodes]]\nname = "n%s"\naddrs = ["127.0.0.1:%s"]\n' "$j" $((base + j))
    done
  } >"$dir/n$i.toml"
done

start() {
  "$herd" agent --config "$dir/$1.toml" 2>>"$dir/$1.log" &
  pid[$1]=$!
  disown "$!"
}
status() { "$herd" status --json --config "$dir/$1.toml" 2>/dev/null || echo '{}'; }
now() { date +%s%N; }
# Epoch nanoseconds of the first line of $1's log after $2 (ns) matching $3.
log_time() {
  local line ts t
  while IFS= read -r line; do
    ts=${line%% *}
    t=$(date -d "$ts" +%s%N 2>/dev/null) || continue
    if [ "$t" -ge "$2" ]; then echo "$t"; return 0; fi
  done < <(grep -E "$3" "$dir/$1.log" || true)
  return 1
}
wait_until() { # $1 = seconds, rest = command
  local limit=$(($(now) + $1 * 1000000000)); shift
  until "$@"; do
    [ "$(now)" -lt "$limit" ] || { echo "timed out: $*" >&2; exit 1; }
    sleep 0.02
  done
}
all_online() {
  local s
  s=$(status "$1")
  echo "$s" | jq -e '.dc != null and ([.nodes[].state] | all(. == "online"))' >/dev/null
}
state_of() { status "$1" | jq -r --arg n "$2" '.nodes[] | select(.name == $n) | .state'; }
is_lost() { [ "$(state_of "$1" "$2")" = lost ]; }
dc_other_than() { local d; d=$(status "$1" | jq -r '.dc // empty'); [ -n "$d" ] && [ "$d" != "$2" ]; }

for n in n1 n2 n3; do start "$n"; done
wait_until 20 all_online n1
detections=()
failovers=()
watcher=n1
for run in $(seq 1 "$runs"); do
  dc=$(status "$watcher" | jq -r .dc)
  others=()
  for n in n1 n2 n3; do [ "$n" != "$dc" ] && others+=("$n"); done
  victim=${others[0]} observer=${others[1]}
  t0=$(now); kill -9 "${pid[$victim]}"
  wait_until 10 is_lost "$observer" "$victim"
  t1=$(log_time "$dc" "$t0" "node state change node=$victim state=\"lost\"")
  detections+=($(((t1 - t0) / 1000000)))
  start "$victim"; wait_until 20 all_online "$observer"
  sleep 2 # steady state: every link redialed
  t0=$(now); kill -9 "${pid[$dc]}"
  wait_until 10 dc_other_than "$observer" "$dc"
  new_dc=$(status "$observer" | jq -r .dc)
  t1=$(log_time "$new_dc" "$t0" "this node is now the DC")
  failovers+=($(((t1 - t0) / 1000000)))
  start "$dc"; wait_until 20 all_online "$observer"
  watcher=$observer
  sleep 2
  echo "run $run: detection ${detections[-1]} ms, DC failover ${failovers[-1]} ms"
done

summary() { # name values...
  local name=$1; shift
  printf '%s\n' "$@" | sort -n | awk -v name="$name" '
    { v[NR] = $1 }
    END { med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
          printf "%-34s min %5d  median %7.1f  max %5d ms  (%d runs)\n", name, v[1], med, v[NR], NR }'
}
summary "detection (kill non-DC -> lost)" "${detections[@]}"
summary "DC failover (kill DC -> new DC)" "${failovers[@]}"
