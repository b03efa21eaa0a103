#!/bin/sh
# A test OCF agent like Dummy whose stop ignores SIGTERM and never ends.
state="${OCF_RESKEY_state:?state is required}"
case "$1" in
    start) touch "$state"; exit 0 ;;
    stop) echo $$ > "$state.stop-pid"; trap "" TERM; while :; do sleep 1; done ;;
    monitor) [ -f "$state" ] && exit 0; exit 7 ;;
    meta-data) echo '<resource-agent name="hangstop"><parameters/><actions/></resource-agent>'; exit 0 ;;
    *) exit 3 ;;
esac
