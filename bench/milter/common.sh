# What the two milter benches (run.sh, postfix.sh) share; sourced.

# bench_message FROM: an ordinary 4 KB text message from FROM
bench_message() {
    printf 'From: Alice <%s>\nTo: bob@bench.example\nSubject: benchmark\n' "$1"
    printf 'Date: %s\nMessage-ID: <bench@%s>\nMIME-Version: 1.0\n' "$(date -R)" "${1#*@}"
    printf 'Content-Type: text/plain; charset=us-ascii\n\n'
    for i in $(seq 60); do printf 'Line %02d of the benchmark message, some words to hash and sign.\n' "$i"; done
}

# peak_rss PID...: the peak RSS (kB, VmHWM) of the processes, summed; a
# process already gone counts 0
peak_rss() {
    local total=0 p kb
    for p in "$@"; do
        kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}
