#!/usr/bin/env bash
# The dynamic-update test bed: a real Knot DNS (knotd) on a loopback high
# port, serving zones/*.zone. publish.example is DNSSEC-signed by Knot and
# takes RFC 2136 updates signed with the TSIG key made here; readonly.example
# takes none (updates are REFUSED). Not under .test: libunbound answers
# names there itself (RFC 6761 default local zones), whatever the forwarder.
#
#   knotbed.sh start INFOFILE   start knotd, write KEY=VALUE lines to INFOFILE
#   knotbed.sh stop INFOFILE    stop knotd, remove its directory and INFOFILE
#
# INFOFILE keys: DIR, PORT, SERVER (127.0.0.1:PORT, for --server),
# RESOLVER (127.0.0.1@PORT, for --resolver), TRUST_ANCHOR (the DS of
# publish.example), KEY (a BIND key file), KEY_LINE (the same key as
# name:algorithm:secret), WRONG_KEY (the key's name with another secret),
# KEY_SPEC (algorithm:name:secret, for knsupdate -y), CONF (knot.conf).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ADDR=127.0.0.1
KEY_NAME=mailsec-update
KEY_ALG=hmac-sha256
READY_TRIES=100 # x 0.2 s: how long to wait for the signed zone to be served

die() { echo "knotbed: $*" >&2; exit 1; }

. "$HERE/../lib/servers.sh"

write_conf() {
    local dir=$1 port=$2 secret=$3
    cat >"$dir/knot.conf" <<CONF
server:
    rundir: "$dir"
    listen: $ADDR@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$dir/db"
key:
  - id: $KEY_NAME
    algorithm: $KEY_ALG
    secret: $secret
acl:
  - id: update
    key: $KEY_NAME
    action: update
  # The key is known to readonly.example, for transfers only.
  - id: transfer
    key: $KEY_NAME
    action: transfer
log:
  - target: "$dir/knot.log"
    any: info
template:
  - id: default
    storage: "$dir/zones"
    file: "%s.zone"
    # Updates live in the journal; the zone files stay as the repository has them.
    zonefile-sync: -1
    journal-content: all
zone:
  - domain: publish.example
    acl: update
    dnssec-signing: on
  - domain: readonly.example
    acl: transfer
CONF
}

write_keys() {
    local dir=$1 secret=$2 wrong
    wrong=$(openssl rand -base64 32)
    printf 'key "%s" {\n\talgorithm %s;\n\tsecret "%s";\n};\n' "$KEY_NAME" "$KEY_ALG" "$secret" \
        >"$dir/update.key"
    printf '%s:%s:%s\n' "$KEY_NAME" "$KEY_ALG" "$secret" >"$dir/update.line"
    printf 'key "%s" {\n\talgorithm %s;\n\tsecret "%s";\n};\n' "$KEY_NAME" "$KEY_ALG" "$wrong" \
        >"$dir/wrong.key"
    chmod 600 "$dir"/*.key "$dir/update.line"
}

stop_knot() {
    [[ -f $1/knot.pid ]] && stop_pid "$(cat "$1/knot.pid")" TERM 5
    rm -f "$1/knot.pid"
    return 0
}

# Ready when the signed zone is served: an RRSIG over its SOA.
wait_ready() {
    local port=$2 i
    for ((i = 0; i < READY_TRIES; i++)); do
        if kdig @"$ADDR" -p "$port" +dnssec +timeout=1 +retry=0 SOA publish.example 2>/dev/null |
            grep -q 'RRSIG'; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# knotd's configuration (KNOT_SECRET: the TSIG key's), checked before it starts
configure_knot() {
    local dir=$1 port=$2
    write_conf "$dir" "$port" "$KNOT_SECRET"
    knotc -c "$dir/knot.conf" conf-check >"$dir/conf-check.out" 2>&1 ||
        die "knot.conf does not check: $(cat "$dir/conf-check.out")"
}

# knotd daemonizes; its stdio must not hold CTest's pipes open.
launch_knot() {
    knotd -c "$1/knot.conf" -s "$1/knot.sock" -d </dev/null >>"$1/knotd.out" 2>&1
}

abort_start() {
    [[ -n ${STARTING_DIR:-} ]] || return 0
    echo "knotbed: knotd did not start or serve the signed zone; its log:" >&2
    cat "$STARTING_DIR/knot.log" "$STARTING_DIR/knotd.out" >&2 2>/dev/null || true
    stop_knot "$STARTING_DIR"
    rm -rf "$STARTING_DIR"
}

cmd_start() {
    local info=$1 port secret dir
    stop_from_info "$info" stop_knot # a server left by an earlier run
    STARTING_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mailsec-knotbed.XXXXXX")
    dir=$STARTING_DIR
    trap abort_start EXIT
    mkdir -p "$dir/zones" "$dir/db"
    cp "$HERE"/zones/*.zone "$dir/zones/"
    secret=$(openssl rand -base64 32)
    write_keys "$dir" "$secret"
    KNOT_SECRET=$secret
    port=$(start_on_free_port "$dir" configure_knot launch_knot stop_knot wait_ready) || exit 1
    keymgr -c "$dir/knot.conf" publish.example ds | grep ' DS [0-9]* [0-9]* 2 ' >"$dir/trust-anchors"
    [[ -s $dir/trust-anchors ]] || die "no DS for publish.example from keymgr"
    mkdir -p "$(dirname "$info")"
    {
        echo "DIR=$dir"
        echo "PORT=$port"
        echo "SERVER=$ADDR:$port"
        echo "RESOLVER=$ADDR@$port"
        echo "TRUST_ANCHOR=$dir/trust-anchors"
        echo "KEY=$dir/update.key"
        echo "KEY_LINE=$dir/update.line"
        echo "WRONG_KEY=$dir/wrong.key"
        echo "KEY_SPEC=$KEY_ALG:$KEY_NAME:$secret"
        echo "CONF=$dir/knot.conf"
    } >"$info.tmp"
    mv "$info.tmp" "$info"
    trap - EXIT
    echo "knotbed: knotd on $ADDR@$port, directory $dir"
}

bed_command stop_knot "$@"
