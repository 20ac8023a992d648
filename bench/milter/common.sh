# What the two milter benches (run.sh, postfix.sh) share; sourced.

# require TOOL...: each tool installed, else the bench says which is not
# and exits 2.
require() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null ||
            { echo "bench/milter: $tool is not installed (scripts/deps.txt)" >&2; exit 2; }
    done
}

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

# opendkim_conf FILE KEY SOCKET INTERNAL_HOSTS PIDFILE [LINE...]: OpenDKIM
# signing dkimtest.example's mail from INTERNAL_HOSTS with KEY (selector
# rsa2048, as mailsec signs) and verifying the rest, on SOCKET, in the
# foreground; each LINE is added as it is.
opendkim_conf() {
    local file=$1 key=$2 socket=$3 internal=$4 pidfile=$5
    shift 5
    {
        cat <<CONF
Syslog no
Mode sv
Domain dkimtest.example
Selector rsa2048
KeyFile $key
# the bed lives in /tmp, which OpenDKIM's key-safety check refuses as a parent
RequireSafeKeys false
Canonicalization relaxed/relaxed
InternalHosts $internal
Socket $socket
PidFile $pidfile
Background no
UserID root
CONF
        [[ $# -eq 0 ]] || printf '%s\n' "$@"
    } >"$file"
}
