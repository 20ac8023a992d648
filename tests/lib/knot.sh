# The Knot DNS of the knotbed fixture (tests/knotbed/knotbed.sh) as the test
# scripts reach it (sourced after testlib.sh, not run):
#
#   knot_val NAME        a value of the fixture's info file (PORT, KEY_SPEC ...)
#   txt_at NAME          the TXT data Knot holds at NAME, one record per line,
#                        as kdig prints it
#   knot_set NAME TEXT   sets the TXT record at NAME (in publish.example)
#                        straight in Knot, behind mailsec's back, as another
#                        administrator would; status 1 when Knot refuses,
#                        knsupdate's words then in $knot_error

KNOT_INFO=${MAILSEC_KNOTBED_INFO:?the knotbed fixture did not run}
[[ -f $KNOT_INFO ]] || die "no $KNOT_INFO: the knotbed fixture did not start"

knot_val() { sed -n "s/^$1=//p" "$KNOT_INFO"; }
KNOT_PORT=$(knot_val PORT)

txt_at() { kdig @127.0.0.1 -p "$KNOT_PORT" +short +timeout=2 +retry=1 TXT "$1"; }

knot_set() {
    knsupdate -y "$(knot_val KEY_SPEC)" <<EOF_UPDATE >"$WORK/knsupdate.out" 2>&1 && return 0
server 127.0.0.1 $KNOT_PORT
zone publish.example.
update delete $1. TXT
update add $1. 3600 TXT "$2"
send
EOF_UPDATE
    knot_error="knsupdate: $(cat "$WORK/knsupdate.out")"
    return 1
}
