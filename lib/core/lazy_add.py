#!/usr/bin/python3
"""lazy_add.py HEADER NAME...: adds functions to a lazy library's list.

A library loaded on first use (lazy.h) is not linked, so a function the
code starts to call that its header lib/core/lazy_<lib>.h does not list
fails the link ("undefined reference to `sqlite3_column_count'"). This
puts each NAME in the header's X-macro list and its #define, both kept
sorted, as if written by hand:

    lib/core/lazy_add.py lib/core/lazy_sqlite.h sqlite3_column_count

For OpenSSL, lazy_openssl.h holds two lists: a name goes to libcrypto's
(ms_crypto) unless it starts with SSL_, TLS_, DTLS_ or OPENSSL_init_ssl,
libssl's (ms_ssl); check with `nm -D --defined-only` when unsure.
"""
import re
import sys


def table_for(text, name):
    tables = re.findall(r"#define MS_(\w+)_NAMES\(X\)", text)
    if len(tables) == 1:
        return tables[0]
    ssl = re.match(r"(SSL_|TLS_|DTLS_|OPENSSL_init_ssl)", name)
    return "SSL" if ssl else "CRYPTO"


def add(text, name):
    prefix = table_for(text, name)
    lib = prefix.lower()
    listed = re.search(r"#define MS_%s_NAMES\(X\) \\\n((?:    X\(\w+\)(?: \\)?\n)+)" % prefix, text)
    names = sorted(set(re.findall(r"X\((\w+)\)", listed.group(1)) + [name]))
    block = "".join("    X(%s) \\\n" % n for n in names[:-1]) + "    X(%s)\n" % names[-1]
    text = text[:listed.start(1)] + block + text[listed.end(1):]
    defines = re.search(r"((?:#define \w+ MS_LAZY\(ms_%s, \w+\)\n)+)" % lib, text)
    block = "".join("#define %s MS_LAZY(ms_%s, %s)\n" % (n, lib, n) for n in names)
    return text[:defines.start(1)] + block + text[defines.end(1):]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path = sys.argv[1]
    with open(path) as f:
        text = f.read()
    for name in sys.argv[2:]:
        text = add(text, name)
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
