#!/usr/bin/env bash
# lazy.sh MAILSEC REPO LIBMAILSEC: the libraries loaded on first use
# (lib/core/lazy.h).
#   - Commands that need none of them start without them: `--version` and
#     `dmarc check --record` load neither libpq, libcurl, GMime, libarchive,
#     libmicrohttpd, ldns, libunbound (nor what it brings: libevent, nettle)
#     nor libmilter, nor OpenSSL's libssl and libcrypto, nor libsqlite3 (the
#     loader's own list, LD_DEBUG=libs). A library linked again would be
#     loaded at start: this fails.
#   - The first use loads one: a failure report's ingest loads GMime and
#     libsqlite3 and stores the report; a DMARC check of a domain in the DNS
#     test bed loads libunbound and gets its record; a DKIM key record's
#     lint loads libcrypto and not libssl; a Dovecot configuration's audit
#     (its cipher list) loads libssl.
#   - Neither the library nor the command calls OpenSSL or SQLite but
#     through the tables: no undefined symbol of theirs is one that
#     libssl, libcrypto or libsqlite3 defines (where a macro of their
#     headers expands to a function that is not in the list, a build
#     without --no-undefined, as the sanitizer one, would leave it so).
#   - Without the library, the command says which package to install: a
#     soname that does not exist stands for the missing library
#     (MAILSEC_LAZY_SONAME_<KEY>, lib/core/lazy.c), for GMime (the report
#     is set aside with the reason), libpq (the store cannot be opened,
#     exit 2), libcurl (report fetch cannot start, exit 2), libmicrohttpd
#     (serve cannot start, exit 2), libarchive (the zip is set aside),
#     libunbound (every DNS command: exit 2, and the reason on stderr),
#     libcrypto, libssl and libsqlite3 (the first call that needs one ends
#     the command: exit 2, the reason on stderr).
set -uo pipefail
BIN=$1
LIBMAILSEC=$3
cd "$2" || exit 1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0 failed=0
ok() { echo "ok   - $1"; passed=$((passed + 1)); }
fail() { echo "FAIL - $1"; failed=$((failed + 1)); }

LAZY='lib(pq|curl|gmime-3\.0|archive|microhttpd|ldns|unbound|event|nettle|milter|ssl|crypto|sqlite3)[-.]'

# LD_DEBUG=libs names every library the loader looks for; its output goes
# to a file of its own so the command's stderr stays apart.
loaded() { # loaded OUT ARGS...: runs the command, the loader's log in OUT
    local out=$1
    shift
    rm -f "$out" "$out".*
    LD_DEBUG=libs LD_DEBUG_OUTPUT=$out "$BIN" "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    local status=$?
    cat "$out".* >"$out" 2>/dev/null
    return $status
}

for args in "--version" "dmarc check --record v=DMARC1;p=none"; do
    # shellcheck disable=SC2086 # the words are the arguments
    loaded "$WORK/ld" $args
    status=$?
    if ((status != 0)) || ! grep -q 'libmailsec\.so' "$WORK/ld"; then
        fail "mailsec $args: exit $status, or no loader log naming libmailsec"
    elif grep -Eq "$LAZY" "$WORK/ld"; then
        fail "mailsec $args loads $(grep -Eo "$LAZY" "$WORK/ld" | sort -u | tr '\n' ' ')"
    else
        ok "mailsec $args starts without libpq, libcurl, GMime, libarchive, libmicrohttpd, ldns, libunbound, libmilter, libssl, libcrypto, libsqlite3 ($(grep -c 'calling init' "$WORK/ld") libraries)"
    fi
done

# Without a library the command needs: the store and the milter say so when
# they start; elsewhere the first call that needs it ends the command.
# Exit 2 either way.
without() { # without KEY MESSAGE ARGS...: MESSAGE on stderr, exit 2
    local key=$1 message=$2
    shift 2
    env "MAILSEC_LAZY_SONAME_$key=libmailsec-absent.so.3" "$BIN" "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    local status=$?
    if ((status == 2)) && grep -q "^mailsec[a-z ]*: .*$message" "$WORK/stderr"; then
        ok "without $key, $1 $2 says so: exit 2, $(cut -c1-100 "$WORK/stderr")..."
    else
        fail "without $key, $1 $2: exit $status: $(cat "$WORK/stderr")"
    fi
}

FAILURE=tests/data/reports/failure/rfc6591-message.eml
# The libraries' files, as the loader found them, for the symbol check.
: >"$WORK/lazy-files"
keep_files() { grep -Eo 'calling init: [^ ]*lib(ssl|crypto|sqlite3)\.so[^ ]*' "$1" | cut -d' ' -f3 >>"$WORK/lazy-files"; }
if loaded "$WORK/ld" report ingest --json --db "$WORK/r.db" "$FAILURE" &&
    grep -q 'libgmime-3\.0\.so' "$WORK/ld" && grep -q 'libsqlite3\.so' "$WORK/ld" &&
    jq -e '.tally.reports_new == 1' "$WORK/stdout" >/dev/null; then
    ok "a failure report's ingest loads GMime and libsqlite3 and stores the report"
    keep_files "$WORK/ld"
else
    fail "a failure report's ingest: $(cat "$WORK/stderr" "$WORK/stdout")"
fi

MAILSEC_LAZY_SONAME_GMIME=libmailsec-absent.so.0 "$BIN" report ingest --json --db "$WORK/g.db" "$FAILURE" \
    >"$WORK/stdout" 2>"$WORK/stderr"
status=$?
if ((status == 1)) && jq -e '.tally.failed == 1 and (.failed[0].error.message |
        test("MIME library .*install the package libgmime-3.0-0"))' "$WORK/stdout" >/dev/null; then
    ok "without GMime, the report is set aside: install the package libgmime-3.0-0"
else
    fail "without GMime: exit $status: $(cat "$WORK/stderr" "$WORK/stdout")"
fi

without PQ "PostgreSQL client library (libpq) could not be loaded.*install the package libpq5" \
    report list --db postgresql://127.0.0.1:1/none
MAILSEC_IMAP_PASSWORD=none without CURL "IMAP library (libcurl) could not be loaded.*install the package libcurl4" \
    report fetch --db "$WORK/f.db" imaps://user@127.0.0.1:9/INBOX
# fails before listening, so the port is never taken
without MHD "HTTP server library (libmicrohttpd) could not be loaded.*install the package libmicrohttpd12" \
    serve --db "$WORK/r.db" --listen 127.0.0.1:9

# A zip of an aggregate report.
/usr/bin/python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1], "w").write(sys.argv[2], "aggregate.xml")' \
    "$WORK/report.zip" tests/data/walk/aggregate.xml
MAILSEC_LAZY_SONAME_ARCHIVE=libmailsec-absent.so.13 "$BIN" report ingest --json --db "$WORK/z.db" "$WORK/report.zip" \
    >"$WORK/stdout" 2>"$WORK/stderr"
status=$?
if ((status == 1)) && jq -e '.failed[0].error.message | test("archive library .*install the package libarchive13")' \
        "$WORK/stdout" >/dev/null; then
    ok "without libarchive, a zip is set aside: install the package libarchive13"
else
    fail "without libarchive: exit $status: $(cat "$WORK/stderr" "$WORK/stdout")"
fi

# libunbound: the first query loads it (lib/dns/resolver.c).
# shellcheck source=../lib/dnsbed.sh
source tests/lib/dnsbed.sh
DNS=(--resolver "$resolver" --trust-anchor "$anchor")
if loaded "$WORK/ld" dmarc check --json "${DNS[@]}" example.com &&
    grep -q 'libunbound\.so' "$WORK/ld" && jq -e '.results[0].record_text == "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"' "$WORK/stdout" >/dev/null; then
    ok "a DMARC check loads libunbound and gets the record from the DNS test bed"
else
    fail "a DMARC check with libunbound: $(cat "$WORK/stderr" "$WORK/stdout")"
fi

without UNBOUND "the DNS resolver library (libunbound) could not be loaded.*install the package libunbound8" \
    dmarc check "${DNS[@]}" example.com

# libcrypto alone: a DKIM key record's lint decodes the key.
KEY_RECORD='v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo='
if loaded "$WORK/ld" dkim check --json --record "$KEY_RECORD" &&
    grep -q 'libcrypto\.so' "$WORK/ld" && ! grep -q 'libssl\.so' "$WORK/ld" &&
    jq -e '.results[0].key.usable and .results[0].key.bits == 256' "$WORK/stdout" >/dev/null; then
    ok "a DKIM key record's lint loads libcrypto (not libssl) and reads the key"
else
    fail "a DKIM key record's lint: $(grep -Eo 'lib(ssl|crypto)\.so[^ ]*' "$WORK/ld" | sort -u) $(cat "$WORK/stderr" "$WORK/stdout")"
fi

# libssl: the audit expands a cipher list as OpenSSL does.
DOVECOT=(conf audit --json --dovecot tests/conf/data/seed/dovecot/dovecot.conf)
loaded "$WORK/ld" "${DOVECOT[@]}"
status=$?
if ((status == 1)) && grep -q 'libssl\.so' "$WORK/ld" &&
    jq -e 'any(.results[0].diagnostics[]; .code == "conf.legacy-ciphers")' "$WORK/stdout" >/dev/null; then
    ok "a Dovecot configuration's audit loads libssl and judges its cipher list"
    keep_files "$WORK/ld"
else
    fail "a Dovecot configuration's audit: exit $status: $(cat "$WORK/stderr")"
fi

# Every undefined symbol of the library and the command, against what the
# loaded libssl, libcrypto and libsqlite3 define.
mapfile -t files < <(sort -u "$WORK/lazy-files")
if ((${#files[@]} != 3)); then
    fail "the files of libssl, libcrypto and libsqlite3 not all found in the loader's log: ${files[*]}"
else
    nm -D --defined-only "${files[@]}" | awk 'NF == 3 { sub(/@.*/, "", $3); print $3 }' | sort -u >"$WORK/defined"
    nm -D --undefined-only "$LIBMAILSEC" "$BIN" | awk 'NF == 2 { sub(/@.*/, "", $2); print $2 }' | sort -u >"$WORK/undefined"
    direct=$(comm -12 "$WORK/defined" "$WORK/undefined" | tr '\n' ' ')
    if [[ -z $direct ]] && [[ -s $WORK/undefined ]]; then
        ok "libmailsec and mailsec call no function of libssl, libcrypto, libsqlite3 but through the tables"
    else
        fail "undefined in libmailsec or mailsec, defined by ${files[*]}: ${direct:-(no undefined symbol read)}"
    fi
fi

# Without libcrypto, libssl, libsqlite3 (without, above).
without CRYPTO "the cryptography library (OpenSSL's libcrypto) could not be loaded.*install the package libssl3" \
    dkim check --json --record "$KEY_RECORD"
without SSL "the TLS library (OpenSSL's libssl) could not be loaded.*install the package libssl3" "${DOVECOT[@]}"
without SQLITE "the SQLite library (libsqlite3) could not be loaded.*install the package libsqlite3-0" \
    report ingest --db "$WORK/s.db" tests/data/walk/aggregate.xml
printf 'authserv-id mx.example\n' >"$WORK/milter.conf"
without CRYPTO "the cryptography library (OpenSSL's libcrypto) could not be loaded.*install the package libssl3" \
    milter --socket inet:9@127.0.0.1 --config "$WORK/milter.conf" # refused before it listens

echo "lazy.sh: $passed passed, $failed failed"
((failed == 0 && passed > 0))
