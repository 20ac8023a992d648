#!/usr/bin/env bash
# check-install.sh BUILD_DIR: `cmake --install` into a scratch prefix puts
# the binary, library, headers, pkg-config file and man page in place, a
# program built only from what was installed (via pkg-config) links and runs
# (a DKIM key's lint in it loads OpenSSL, which it does not link: lib/core/lazy.h),
# and the installed binary and SQLite extension run from there as they are.
set -euo pipefail
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib*/ | head -n1)
libdir=${libdir%/}
# pkg-config files may sit in lib/ or lib/<multiarch>/
pcdir=$(dirname "$(find "$prefix" -name mailsec.pc | head -n1)")
failed=0 passed=0
expect() { if [[ -e $1 ]]; then passed=$((passed + 1)); else echo "FAIL - missing $1"; failed=$((failed + 1)); fi; }
expect "$prefix/bin/mailsec"
expect "$prefix/include/mailsec/core.h"
expect "$prefix/include/mailsec/dns.h"
expect "$prefix/include/mailsec/dmarc.h"
expect "$prefix/share/man/man1/mailsec.1"
# The page installed is the one the build made (docs/mailsec.1.in with
# every command's options from src/options), not the source with markers.
if grep -q '^\.\\" @options ' "$prefix/share/man/man1/mailsec.1" 2>/dev/null ||
    ! grep -qF '\fB\-\-selector\fR \fIS\fR' "$prefix/share/man/man1/mailsec.1" 2>/dev/null; then
    echo "FAIL - $prefix/share/man/man1/mailsec.1 is not the page the build made"; failed=$((failed + 1))
else
    passed=$((passed + 1))
fi
expect "$pcdir/mailsec.pc"
sofile=$(find "$prefix" -name 'libmailsec.so*' | head -n1)
expect "${sofile:-$prefix/lib/libmailsec.so}"

cat >"$prefix/prog.c" <<'C'
#include <mailsec/dkim.h>
#include <mailsec/dmarc.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    const char *text = "v=DMARC1; p=reject; pct=50";
    ms_dmarc_record *rec = NULL;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    if (ms_dmarc_check_record(text, strlen(text), "example.com", &rec, &diags) != MS_OK)
        return 1;
    int ok = rec->usable && rec->p == MS_DMARC_POLICY_REJECT && ms_diag_has(&diags, "dmarc.pct-removed");
    const char *key_text = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    ms_dkim_key *key = NULL;
    if (ms_dkim_key_parse(key_text, strlen(key_text), NULL, &key, &diags) != MS_OK)
        return 1;
    ok = ok && key->usable && key->pkey != NULL && key->key_bits == 256;
    printf("%s %zu findings\n", ok ? "ok" : "wrong", diags.count);
    ms_dkim_key_free(key);
    ms_dmarc_record_free(rec);
    ms_diag_list_free(&diags);
    return ok ? 0 : 1;
}
C
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs mailsec)
if cc -o "$prefix/prog" "$prefix/prog.c" $flags && \
   LD_LIBRARY_PATH=$(dirname "$sofile") "$prefix/prog"; then
    passed=$((passed + 1))
else
    echo "FAIL - a program built with pkg-config against the installed library"
    failed=$((failed + 1))
fi
# The installed binary and SQLite extension find the library by themselves
# (RUNPATH $ORIGIN/..., no LD_LIBRARY_PATH, no ldconfig), from any directory.
if (cd / && env -u LD_LIBRARY_PATH "$prefix/bin/mailsec" --version >/dev/null); then
    passed=$((passed + 1))
else
    echo "FAIL - installed mailsec --version, run from / without LD_LIBRARY_PATH"; failed=$((failed + 1))
fi
extension=$(find "$prefix" -name 'mailsec_email.so' -path '*mailsec/*' | head -n1)
got=$(cd / && env -u LD_LIBRARY_PATH sqlite3 :memory: ".load ${extension%.so}" \
    "SELECT is_email('john.doe@example.com') || is_email('a..b@example.com');" 2>&1) || true
if [[ $got == 10 ]]; then
    passed=$((passed + 1))
else
    echo "FAIL - the installed SQLite extension (${extension:-not installed}): $got"; failed=$((failed + 1))
fi
echo "install: $passed passed, $failed failed"
((failed == 0))
