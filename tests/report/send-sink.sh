#!/usr/bin/env bash
# A sendmail for send.sh: `send-sink.sh -oi -t -f FROM` keeps the message it
# reads as $SEND_SINK/NNN.eml (the arguments in NNN.args) and exits 0, as
# sendmail does once the message is queued. While $SEND_SINK/stall exists
# it then waits instead of exiting (its PID in $SEND_SINK/stalled.pid): the
# message has left, the caller has not heard so yet.
set -u
dir=${SEND_SINK:?}
n=$(find "$dir" -name '*.eml' | wc -l)
name=$(printf '%s/%03d' "$dir" "$n")
cat >"$name.tmp" || exit 75
printf '%s\n' "$*" >"$name.args"
mv "$name.tmp" "$name.eml"
if [[ -e $dir/stall ]]; then
    echo $$ >"$dir/stalled.pid"
    exec sleep 600
fi
exit 0
