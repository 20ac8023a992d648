#!/usr/bin/env bash
# The DNS test bed: a real authoritative server (NSD) on a loopback high port,
# serving every tests/dnsbed/zones/*.zone file, some of them DNSSEC-signed.
#
#   dnsbed.sh start INFOFILE   start NSD, write KEY=VALUE lines to INFOFILE
#   dnsbed.sh stop INFOFILE    stop NSD, remove its directory and INFOFILE
#
# INFOFILE keys: DIR (temporary directory), PORT, RESOLVER (127.0.0.1@PORT),
# TRUST_ANCHOR (DS records of the signed zones, for ub_ctx_add_ta_file).
# See README.md in this directory for the zone and signing conventions.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ZONES_SRC=${MAILSEC_DNSBED_ZONES:-$HERE/zones}
ADDR=127.0.0.1
READY_TRIES=50          # x 0.2 s: how long to wait for NSD to answer
BOGUS_MARKER=tamper-me  # TXT and MX data holding this is altered after signing

die() { echo "dnsbed: $*" >&2; exit 1; }

. "$HERE/../lib/servers.sh"

# "ORIGIN secure|bogus" lines of signing.conf; prints the mode of a zone or
# nothing when the zone stays unsigned.
signing_mode() {
    local origin=$1 conf=$ZONES_SRC/signing.conf
    [[ -f $conf ]] || return 0
    awk -v o="$origin" '$1 !~ /^#/ && NF >= 2 {
            n = $1; if (n !~ /\.$/) n = n "."
            if (tolower(n) == tolower(o)) { print $2; exit }
        }' "$conf"
}

# Sign DIR/zones/ORIGINzone in place with one ECDSA key (a combined
# KSK/ZSK); append its DS to the trust anchor file.
sign_zone() {
    local dir=$1 origin=$2 mode=$3 file=$1/zones/${2}zone
    local now key
    now=$(date +%s)
    (cd "$dir/keys" && ldns-keygen -a ECDSAP256SHA256 -k "$origin" >/dev/null)
    key=$(ls -t "$dir/keys"/K"${origin}"+013+*.key | head -n 1)
    key=${key%.key}
    # Valid from an hour ago (clock skew) for 30 days: signing happens at
    # every start, so the signatures never go stale.
    ldns-signzone -o "$origin" -i $((now - 3600)) -e $((now + 30 * 86400)) \
        -f "$file.signed" "$file" "$key"
    if [[ $mode == bogus ]]; then
        # Change the data of TXT records carrying the marker; their RRSIGs
        # no longer match, so validation of exactly those RRsets fails.
        awk -v m="$BOGUS_MARKER" 'BEGIN { OFS = "\t" }
            ($4 == "TXT" || $4 == "MX") && index($0, m) { gsub(m, "tampered") } { print }' \
            "$file.signed" >"$file.tmp"
        mv "$file.tmp" "$file.signed"
    fi
    mv "$file.signed" "$file"
    cat "$key.ds" >>"$dir/trust-anchors"
}

prepare_zones() {
    local dir=$1 src origin mode
    mkdir -p "$dir/zones" "$dir/keys"
    : >"$dir/trust-anchors"
    for src in "$ZONES_SRC"/*.zone; do
        [[ -e $src ]] || die "no zone files in $ZONES_SRC"
        origin=$(basename "$src" .zone).
        cp "$src" "$dir/zones/${origin}zone"
        # Fail fast, with NSD's own words, before signing or starting.
        nsd-checkzone "$origin" "$dir/zones/${origin}zone" >/dev/null 2>"$dir/checkzone.err" ||
            die "zone $origin ($src) does not load: $(cat "$dir/checkzone.err")"
        mode=$(signing_mode "$origin")
        case $mode in
            "") ;;
            secure|bogus) sign_zone "$dir" "$origin" "$mode" ;;
            *) die "signing.conf: unknown mode '$mode' for $origin" ;;
        esac
        printf 'zone:\n\tname: "%s"\n\tzonefile: "%szone"\n' "$origin" "$origin" \
            >>"$dir/zones.conf"
    done
}

write_conf() {
    local dir=$1 port=$2
    nsd_server_conf "$dir" "$port" "$dir/zones" 2
    cat "$dir/zones.conf" >>"$dir/nsd.conf"
}

first_origin() { awk '/name:/ { gsub(/"/, "", $2); print $2; exit }' "$1/zones.conf"; }

wait_ready() {
    local dir=$1 port=$2 zone i
    zone=$(first_origin "$dir")
    for ((i = 0; i < READY_TRIES; i++)); do
        if kdig @"$ADDR" -p "$port" +short +timeout=1 +retry=0 SOA "$zone" 2>/dev/null \
            | grep -q .; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# Run on any exit while starting: a half-started bed leaves nothing behind.
abort_start() {
    [[ -n ${STARTING_DIR:-} ]] || return 0
    if [[ -f $STARTING_DIR/nsd.log || -f $STARTING_DIR/nsd.out ]]; then
        echo "dnsbed: NSD did not start or answer; its log:" >&2
        cat "$STARTING_DIR/nsd.log" "$STARTING_DIR/nsd.out" >&2 2>/dev/null || true
    fi
    stop_nsd "$STARTING_DIR"
    rm -rf "$STARTING_DIR"
}

cmd_start() {
    local info=$1 port
    stop_from_info "$info" stop_nsd # a server left by an earlier run
    STARTING_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mailsec-dnsbed.XXXXXX")
    trap abort_start EXIT
    prepare_zones "$STARTING_DIR"
    port=$(start_on_free_port "$STARTING_DIR" write_conf launch_nsd stop_nsd wait_ready) || exit 1
    mkdir -p "$(dirname "$info")"
    printf 'DIR=%s\nPORT=%s\nRESOLVER=%s@%s\nTRUST_ANCHOR=%s\n' \
        "$STARTING_DIR" "$port" "$ADDR" "$port" "$STARTING_DIR/trust-anchors" >"$info.tmp"
    mv "$info.tmp" "$info"
    trap - EXIT
    echo "dnsbed: NSD on $ADDR@$port, directory $STARTING_DIR"
}

bed_command stop_nsd "$@"
