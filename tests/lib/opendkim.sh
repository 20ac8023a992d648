# OpenDKIM as a DKIM verifier in test mode (`opendkim -t FILE`), asking the
# DNS test bed through its libunbound (sourced, not run). Used by
# tests/dkim/sign.sh and tests/milter/milter.sh to check that what mailsec
# signs verifies with a verifier that shares no code with it.
#
#   opendkim_verifier DIR DNS_PORT   writes DIR/opendkim.conf (and the
#                                    unbound.conf it names)
#   opendkim_says FILE               "SELECTOR=RESULT ..." for each
#                                    signature of FILE, in OpenDKIM's order

OPENDKIM=/usr/sbin/opendkim

opendkim_verifier() {
    local dir=$1 port=$2
    cat >"$dir/unbound.conf" <<CONF
server:
  do-not-query-localhost: no
  module-config: "iterator"
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@$port
CONF
    cat >"$dir/opendkim.conf" <<CONF
Mode v
Syslog no
ResolverConfiguration $dir/unbound.conf
AlwaysAddARHeader yes
CONF
    OPENDKIM_CONF=$dir/opendkim.conf
}

# opendkim -vvv prints the Authentication-Results it would add; its dkim=
# results name the selector in header.s= (a comment such as "(2048-bit key;
# unprotected)" may hold a ";")
opendkim_says() {
    timeout 60 "$OPENDKIM" -x "$OPENDKIM_CONF" -vvv -t "$1" 2>&1 |
        grep -oE 'dkim=[a-z]+( \([^)]*\))?[^;(]*header\.s=[A-Za-z0-9._-]+' |
        sed -E 's/^dkim=([a-z]+).*header\.s=(.*)$/\2=\1/' | paste -sd' '
}
