#!/usr/bin/env bash
# A throw-away NSD serving one generated root zone, for the SPF conformance
# driver: each scenario of the openspf suite has its own DNS data (and they
# reuse names like example.com), so each gets its own server. Serving the
# root zone "." makes NSD answer NXDOMAIN for every name the scenario does
# not define, as the suite expects (a server without the zone would refuse).
# tests/dnsbed/dnsbed.sh takes its zone origins from file names and so
# cannot serve the root; this script follows its approach otherwise.
#
#   spfbed.sh start DIR [PID]  DIR/root.zone must exist; prints the port.
#                              With PID (the driver's), a watcher stops the
#                              server and removes DIR if that process dies
#                              without stopping it (a crash), so no NSD is
#                              left behind even then.
#   spfbed.sh stop DIR         stops the server started in DIR
set -euo pipefail

ADDR=127.0.0.1
READY_TRIES=50 # x 0.1 s

die() { echo "spfbed: $*" >&2; exit 1; }

. "$(dirname "${BASH_SOURCE[0]}")/../lib/servers.sh"

write_conf() {
    local dir=$1 port=$2
    nsd_server_conf "$dir" "$port" "$dir" 1
    printf 'zone:\n\tname: "."\n\tzonefile: "root.zone"\n' >>"$dir/nsd.conf"
}

wait_ready() {
    local port=$2 i
    for ((i = 0; i < READY_TRIES; i++)); do
        kdig @"$ADDR" -p "$port" +short +timeout=1 +retry=0 SOA . 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    return 1
}

# Waits for the driver to exit; if DIR is still there then (the driver
# removes it when it finishes normally), stops NSD and removes DIR.
watch_parent() {
    local dir=$1 parent=$2
    while kill -0 "$parent" 2>/dev/null; do sleep 1; done
    if [[ -d $dir ]]; then
        stop_nsd "$dir"
        rm -rf "$dir"
    fi
}

cmd_start() {
    local dir=$1 parent=${2:-} port
    [[ -f $dir/root.zone ]] || die "no $dir/root.zone"
    nsd-checkzone . "$dir/root.zone" >"$dir/checkzone.out" 2>&1 ||
        die "the generated zone does not load: $(cat "$dir/checkzone.out")"
    if ! port=$(start_on_free_port "$dir" write_conf launch_nsd stop_nsd wait_ready); then
        stop_nsd "$dir"
        die "NSD did not start or answer: $(cat "$dir/nsd.log" "$dir/nsd.out" 2>/dev/null)"
    fi
    if [[ -n $parent && ! -f $dir/watcher ]]; then
        : >"$dir/watcher" # one watcher per directory is enough
        watch_parent "$dir" "$parent" </dev/null >/dev/null 2>&1 &
        disown
    fi
    echo "$port"
}

case ${1:-} in
    start) [[ $# -eq 2 || $# -eq 3 ]] || die "usage: $0 start DIR [PID]"; cmd_start "$2" "${3:-}" ;;
    stop) [[ $# -eq 2 ]] || die "usage: $0 stop DIR"; stop_nsd "$2" ;;
    *) die "usage: $0 start|stop DIR" ;;
esac
