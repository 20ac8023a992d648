# OpenDKIM as a DKIM verifier in test mode (`opendkim -t FILE`), asking the
# DNS test bed through its libunbound (sourced, not run). Used by
# tests/dkim/sign.sh and tests/milter/milter.sh to check that what mailsec
# signs verifies with a verifier that shares no code with it.
#
#   opendkim_verifier DIR DNS_PORT   writes DIR/opendkim.conf (and the
#                                    unbound.conf it names)
#   opendkim_says FILE               "SELECTOR=RESULT ..." for each
#                                    signature of FILE, in OpenDKIM's order
#
# And OpenDKIM as a signer: the daemon itself (opendkim-testmsg signs
# rsa-sha1 only), started and driven by miltertest, OpenDKIM's Lua-scripted
# milter client, the way an MTA would hand it a message.
#
#   opendkim_signer DIR DOMAIN SELECTOR KEYFILE PORT
#                                    writes DIR/opendkim-sign.conf (rsa-sha256,
#                                    relaxed/relaxed, on 127.0.0.1:PORT)
#   opendkim_sign < MESSAGE          the message with the DKIM-Signature
#                                    OpenDKIM added (CRLF line ends); the
#                                    daemon runs for this message only

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

MILTERTEST=/usr/bin/miltertest

opendkim_signer() {
    local dir=$1 domain=$2 selector=$3 key=$4 port=$5
    # OpenDKIM refuses a key others can read
    install -m 600 "$key" "$dir/opendkim-sign.key"
    cat >"$dir/opendkim-sign.conf" <<CONF
Mode s
Syslog no
Background no
Domain $domain
Selector $selector
KeyFile $dir/opendkim-sign.key
RequireSafeKeys no
Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
Socket inet:$port@127.0.0.1
PidFile $dir/opendkim-sign.pid
CONF
    # the message's header fields one by one, its body, and what OpenDKIM
    # added at the end of the message
    cat >"$dir/opendkim-sign.lua" <<'LUA'
local f = assert(io.open(os.getenv("OPENDKIM_SIGN_MESSAGE"), "rb"))
local msg = f:read("*a")
f:close()
local head, body = msg:match("^(.-)\r?\n\r?\n(.*)$")
if head == nil then error("no header section") end
mt.startfilter("/usr/sbin/opendkim", "-f", "-x", os.getenv("OPENDKIM_SIGN_CONF"))
local conn = mt.connect(os.getenv("OPENDKIM_SIGN_SOCKET"), 100, 0.1)
if conn == nil then error("cannot connect to opendkim") end
local function check(what, err) if err ~= nil then error(what .. ": " .. err) end end
check("conninfo", mt.conninfo(conn, "localhost", "127.0.0.1"))
check("mailfrom", mt.mailfrom(conn, os.getenv("OPENDKIM_SIGN_FROM")))
check("rcptto", mt.rcptto(conn, "inbox@rcpt.example"))
for line in (head .. "\n"):gmatch("(.-)\r?\n") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name == nil then error("a folded or malformed header line: " .. line) end
  check("header " .. name, mt.header(conn, name, value))
end
check("eoh", mt.eoh(conn))
check("body", mt.bodystring(conn, body))
check("eom", mt.eom(conn))
local sig = mt.getheader(conn, "DKIM-Signature", 0)
if sig == nil then error("OpenDKIM added no DKIM-Signature") end
io.write("DKIM-Signature:", (sig:gsub("\r?\n", "\r\n")), "\r\n", msg)
mt.disconnect(conn)
LUA
    OPENDKIM_SIGN_DIR=$dir
    OPENDKIM_SIGN_DOMAIN=$domain
    OPENDKIM_SIGN_PORT=$port
}

opendkim_sign() {
    local dir=$OPENDKIM_SIGN_DIR
    cat >"$dir/opendkim-sign.in"
    OPENDKIM_SIGN_MESSAGE=$dir/opendkim-sign.in OPENDKIM_SIGN_CONF=$dir/opendkim-sign.conf \
        OPENDKIM_SIGN_SOCKET=inet:$OPENDKIM_SIGN_PORT@127.0.0.1 \
        OPENDKIM_SIGN_FROM=signer@$OPENDKIM_SIGN_DOMAIN \
        timeout 120 "$MILTERTEST" -s "$dir/opendkim-sign.lua"
}
