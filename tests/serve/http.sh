#!/usr/bin/env bash
# http.sh MAILSEC: `mailsec serve` as an HTTP client sees it, on loopback
# high ports (docs/serve.md):
#   - the refusals to start: a non-loopback address without credentials,
#     or with credentials but neither TLS nor --insecure-http; --cert
#     without --key; a bad password file; a store that cannot be opened;
#   - HTTP Basic with a yescrypt password file: no credentials and a wrong
#     password refused (401), the right one served; bearer tokens the same;
#   - HTTPS with the test CA (tests/cert/make-test-ca.sh);
#   - the security headers on pages, errors, JSON and the style sheet;
#     methods other than GET and HEAD refused; an oversized request
#     refused; idle and half-sent connections do not stall others.
set -uo pipefail
bin=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=serve_lib.sh
source "$here/serve_lib.sh"
check() { # check NAME COMMAND...: the command succeeds
    local name=$1; shift
    if "$@"; then ok "$name"; else fail "$name"; fi
}

status_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# A store with one report.
db=$WORK/reports.db
"$bin" report ingest --db "$db" "$here/../data/reports/aggregate/rfc7489-outlook.xml" >/dev/null ||
    die "could not make the store"

# Credentials: a yescrypt hash made by the system's libcrypt, and a token.
/usr/bin/python3 - "$WORK/passwords" <<'PY'
import ctypes, sys
lib = ctypes.CDLL("libcrypt.so.1")
lib.crypt_gensalt.restype = lib.crypt.restype = ctypes.c_char_p
lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
h = lib.crypt(b"correct horse", lib.crypt_gensalt(b"$y$", 0, None, 0)).decode()
assert h.startswith("$y$"), h
open(sys.argv[1], "w").write(f"# dashboard users\nalice:{h}\n")
PY
echo "0f3c2a9be41d7786a1c5e0b2d9f84a13" >"$WORK/token"

# ---- refusals to start (exit 2, a message that says why) ----
refuses() { # refuses NAME TEXT ARGS...
    local name=$1 text=$2; shift 2
    timeout 20 "$bin" serve --db "$db" "$@" >"$WORK/out" 2>"$WORK/err"
    local rc=$?
    if ((rc == 2)) && grep -q -- "$text" "$WORK/err"; then ok "$name"; else
        fail "$name: exit $rc, stderr: $(head -c 300 "$WORK/err")"; fi
}
port=$(free_port)
refuses "0.0.0.0 without credentials" "without authentication" --listen "0.0.0.0:$port"
refuses "[::] without credentials" "without authentication" --listen "[::]:$port"
refuses "a LAN address without credentials" "without authentication" --listen "192.0.2.1:$port"
refuses "0.0.0.0 with a password but no TLS" "without TLS" --listen "0.0.0.0:$port" --password-file "$WORK/passwords"
refuses "--cert without --key" "go together" --cert /dev/null
refuses "a bad --listen" "ADDR:PORT" --listen "localhost"
refuses "port 0" "ADDR:PORT" --listen "127.0.0.1:0"
printf 'alice:plaintext\n' >"$WORK/bad-passwords"
refuses "a password that is not a hash" "not a crypt(3) hash" --password-file "$WORK/bad-passwords"
echo short >"$WORK/short-token"
refuses "a short token" "16 to" --token-file "$WORK/short-token"
refuses "a store that is not there" "" --db "$WORK/nowhere/none.db" --listen "127.0.0.1:$port"

# ---- loopback without credentials: open; the headers on every response ----
if serve_start "$bin" "$db" http; then
    # A client that sends a byte every 2 s is never idle for long: the
    # request's time (30 s) ends it. Runs while the checks below do.
    /usr/bin/python3 - "$port" >"$WORK/trickle" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(2)
start, data = time.time(), b"GET / HTTP/1.1\r\nX-Slow: " + b"a" * 1000
closed = False
for i in range(len(data)):
    try:
        s.send(data[i:i + 1])
        if s.recv(1) == b"":
            closed = True
    except socket.timeout:
        pass
    except OSError:
        closed = True
    if closed or time.time() - start > 70:
        break
elapsed = time.time() - start
print(f"closed={closed} after {elapsed:.0f} s")
sys.exit(0 if closed and 25 <= elapsed <= 60 else 1)
PY
    trickle=$!
    for path in / /domain?domain=example.com /nowhere /api/summary /static/style.css "/?since=bad"; do
        curl -s -D "$WORK/headers" -o /dev/null "$base$path"
        missing=()
        for h in "Content-Security-Policy: default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" \
                 "X-Content-Type-Options: nosniff" "X-Frame-Options: DENY" "Referrer-Policy: no-referrer"; do
            grep -qiF "$h" "$WORK/headers" || missing+=("${h%%:*}")
        done
        ((${#missing[@]} == 0)) && ok "headers on $path" || fail "headers on $path lack ${missing[*]}"
    done
    check "no Strict-Transport-Security over HTTP" bash -c "! grep -qi strict-transport '$WORK/headers'"
    check "the overview is served (200)" test "$(status_of "$base/")" = 200
    check "JSON is application/json" bash -c "curl -s -D - -o /dev/null '$base/api/tls' | grep -qi '^content-type: application/json'"
    check "POST refused (405)" test "$(status_of -X POST -d x=1 "$base/")" = 405
    check "PUT refused (405)" test "$(status_of -X PUT -d x "$base/api/summary")" = 405
    check "HEAD served (200)" test "$(status_of -I "$base/")" = 200
    check "no such report (404)" test "$(status_of "$base/report?id=999999")" = 404
    check "an id that is no number (400)" test "$(status_of "$base/report?id=1x")" = 400
    check "a domain that is no domain (400)" test "$(status_of "$base/domain?domain=a..b")" = 400
    # A request line and headers beyond the memory bound are refused.
    big=$(head -c 100000 /dev/zero | tr '\0' a)
    code=$(status_of -H "X-Big: $big" "$base/")
    [[ $code =~ ^4 ]] && ok "a 100 kB header refused ($code)" || fail "a 100 kB header: $code"
    # Idle and half-sent connections (a slow client) do not stall a request.
    /usr/bin/python3 - "$port" "$base" <<'PY' && ok "20 slow clients stall no request" || fail "slow clients stall requests"
import socket, sys, time, urllib.request
port, base = int(sys.argv[1]), sys.argv[2]
slow = []
for i in range(20):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" if i % 2 else b"GE")
    slow.append(s)
t = time.time()
with urllib.request.urlopen(base + "/api/summary", timeout=20) as r:
    assert r.status == 200
elapsed = time.time() - t
print(f"       a request next to 20 slow clients took {elapsed:.2f} s")
sys.exit(0 if elapsed < 10 else 1)
PY
    wait "$trickle" && ok "a trickling client is cut off ($(cat "$WORK/trickle"))" ||
        fail "a trickling client: $(cat "$WORK/trickle")"
    serve_stop
fi

# ---- HTTP Basic with the password file ----
if serve_start "$bin" "$db" http --password-file "$WORK/passwords"; then
    check "no credentials refused (401)" test "$(status_of "$base/")" = 401
    check "401 asks for Basic" bash -c "curl -s -D - -o /dev/null '$base/' | grep -qi '^www-authenticate: Basic realm=\"mailsec\"'"
    check "the 401 page carries the headers" bash -c "curl -s -D - -o /dev/null '$base/' | grep -qi '^content-security-policy:'"
    check "a wrong password refused (401)" test "$(status_of -u alice:wrong "$base/")" = 401
    check "an unknown user refused (401)" test "$(status_of -u bob:'correct horse' "$base/")" = 401
    check "the right password served (200)" test "$(status_of -u alice:'correct horse' "$base/")" = 200
    check "the API needs it too (401)" test "$(status_of "$base/api/summary")" = 401
    check "the style sheet needs it too (401)" test "$(status_of "$base/static/style.css")" = 401
    check "a bearer token refused without a token file" test "$(status_of -H 'Authorization: Bearer 0f3c2a9be41d7786a1c5e0b2d9f84a13' "$base/")" = 401
    serve_stop
fi

# ---- a bearer token ----
if serve_start "$bin" "$db" http --token-file "$WORK/token"; then
    check "no token refused (401)" test "$(status_of "$base/api/summary")" = 401
    check "a wrong token refused (401)" test "$(status_of -H 'Authorization: Bearer 0f3c2a9be41d7786a1c5e0b2d9f84a14' "$base/api/summary")" = 401
    check "a prefix of the token refused (401)" test "$(status_of -H 'Authorization: Bearer 0f3c2a9be41d7786' "$base/api/summary")" = 401
    check "the token served (200)" test "$(status_of -H 'Authorization: Bearer 0f3c2a9be41d7786a1c5e0b2d9f84a13' "$base/api/summary")" = 200
    serve_stop
fi

# ---- HTTPS with the test CA ----
ca=$WORK/ca
if bash "$here/../cert/make-test-ca.sh" "$ca" >/dev/null 2>&1; then
    if serve_start "$bin" "$db" https --cert "$ca/fullchain.pem" --key "$ca/leaf-rsa.key" --password-file "$WORK/passwords"; then
        check "HTTPS with the test CA (200)" test "$(status_of --cacert "$ca/root.pem" -u alice:'correct horse' "$base/")" = 200
        check "HTTPS without credentials (401)" test "$(status_of --cacert "$ca/root.pem" "$base/")" = 401
        check "HTTPS sends Strict-Transport-Security" bash -c "curl -s --cacert '$ca/root.pem' -u 'alice:correct horse' -D - -o /dev/null '$base/' | grep -qi '^strict-transport-security: max-age='"
        check "plain HTTP on the TLS port gets no page" bash -c "! curl -s -m 5 'http://127.0.0.1:$port/' | grep -q mailsec"
        serve_stop
    fi
else
    fail "could not make the test CA"
fi

finish http
