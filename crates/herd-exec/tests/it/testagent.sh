#!/bin/sh
# A small OCF agent for herd-exec's tests. Behaviour comes from parameters:
#   state      the file whose existence means "running" (required)
#   log        a file to append "begin/end INSTANCE ACTION TIME" lines to
#   sleep      seconds to sleep in every action (decimals allowed)
#   sleep_on   sleep only in this action
#   hang_on    an action that ignores SIGTERM and hangs (its child pid goes to STATE.sleeper)
#   monitor_rc forces the monitor's exit code
log() { [ -n "$OCF_RESKEY_log" ] && echo "$1 $OCF_RESOURCE_INSTANCE $ACTION $(date +%s.%N)" >> "$OCF_RESKEY_log"; return 0; }
ACTION="$1"
case "$ACTION" in
meta-data)
  cat <<XML
<?xml version="1.0"?>
<resource-agent name="testagent" version="1.0">
<version>1.0</version>
<longdesc lang="en">herd-exec test agent</longdesc>
<shortdesc lang="en">test agent</shortdesc>
<parameters>
<parameter name="state" required="1" unique="1">
<shortdesc lang="en">state file</shortdesc>
<content type="string"/>
</parameter>
<parameter name="sleep">
<shortdesc lang="en">seconds to sleep per action</shortdesc>
<content type="string" default="0"/>
</parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/>
<action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s"/>
<action name="promote" timeout="20s"/>
<action name="demote" timeout="20s"/>
<action name="validate-all" timeout="5s"/>
<action name="meta-data" timeout="5s"/>
</actions>
</resource-agent>
XML
  exit 0;;
esac
log begin
if [ "$ACTION" = "$OCF_RESKEY_hang_on" ]; then
  trap '' TERM
  sleep 30 &
  echo $! > "$OCF_RESKEY_state.sleeper"
  wait $!
  wait $!
fi
if [ -n "$OCF_RESKEY_sleep" ] && [ "${OCF_RESKEY_sleep_on:-$ACTION}" = "$ACTION" ]; then
  sleep "$OCF_RESKEY_sleep"
fi
log end
case "$ACTION" in
start) touch "$OCF_RESKEY_state"; exit 0;;
stop) rm -f "$OCF_RESKEY_state" "$OCF_RESKEY_state.promoted"; exit 0;;
promote) touch "$OCF_RESKEY_state.promoted"; exit 0;;
demote) rm -f "$OCF_RESKEY_state.promoted"; exit 0;;
monitor)
  if [ -n "$OCF_RESKEY_monitor_rc" ]; then
    echo "ocf-exit-reason:forced monitor result $OCF_RESKEY_monitor_rc" >&2
    exit "$OCF_RESKEY_monitor_rc"
  fi
  [ -f "$OCF_RESKEY_state" ] || exit 7
  [ -f "$OCF_RESKEY_state.promoted" ] && exit 8
  exit 0;;
validate-all) [ -n "$OCF_RESKEY_state" ] || { echo "ocf-exit-reason:state is not set" >&2; exit 6; }; exit 0;;
*) exit 3;;
esac
