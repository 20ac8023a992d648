#!/usr/bin/env python3
"""The SQLite extension through the real sqlite3 shell.

Loads the built module with .load, runs every case of
tests/data/email/addresses.txt and normalize.txt through is_email(),
email_diagnosis(), email_normalize(), email_domain() and email_local(),
and checks the results against the files' expectations (which come from
the RFCs, not from our code). Also: NULL in -> NULL out, the one-argument
forms, an unknown profile is an SQL error, the functions are deterministic
(usable in an index expression and a CHECK constraint), and the query of
issue 5 rewritten with is_email().

usage: sqlite_shell.py MODULE SOURCE_DIR
"""
import os
import subprocess
import sys

module, src = sys.argv[1], sys.argv[2]
module_noext = os.path.splitext(module)[0]
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg)


def unescape(s):
    """The data files' C escapes to bytes."""
    out = bytearray()
    i = 0
    b = s.encode("utf-8")
    while i < len(b):
        c = b[i]
        if c == 0x5C and i + 1 < len(b):
            n = b[i + 1]
            if n == ord("x"):
                out.append(int(b[i + 2:i + 4], 16))
                i += 4
                continue
            out.append({ord("t"): 9, ord("r"): 13, ord("n"): 10}.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def lit(b):
    """An SQL text literal for any bytes (NUL included): a blob cast to text."""
    return "CAST(X'%s' AS TEXT)" % b.hex()


def sql(script):
    p = subprocess.run(["sqlite3", "-batch", ":memory:"], input=(".load %s\n" % module_noext + script).encode(),
                       capture_output=True)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def data(name):
    with open(os.path.join(src, "tests/data/email", name), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                yield line.split("\t")


# 1. every case of addresses.txt, in one shell run
cases = list(data("addresses.txt"))
script = ".mode list\n.separator |\n"
for prof, valid, cat, diag, addr in cases:
    b = unescape(addr)
    script += "SELECT is_email(%s, '%s'), email_diagnosis(%s, '%s');\n" % (lit(b), prof, lit(b), prof)
rc, out, err = sql(script)
rows = out.splitlines()
if rc != 0 or len(rows) != len(cases):
    fail("addresses: shell exit %d, %d rows for %d cases: %s" % (rc, len(rows), len(cases), err))
else:
    for (prof, valid, cat, diag, addr), row in zip(cases, rows):
        if row != "%s|%s" % (valid, diag):
            fail("%s [%s]: want %s|%s, got %s" % (prof, addr, valid, diag, row))
print("addresses.txt through sqlite3: %d cases" % len(cases))

# 2. normal forms and parts
norm = list(data("normalize.txt"))
script = ".mode list\n.separator |\n.nullvalue NULL\n"
for prof, addr, want, _uni in norm:
    b = lit(unescape(addr))
    script += "SELECT email_normalize(%s, '%s'), email_local(%s, '%s'), email_domain(%s, '%s');\n" % (
        b, prof, b, prof, b, prof)
rc, out, err = sql(script)
rows = out.splitlines()
if rc != 0 or len(rows) != len(norm):
    fail("normalize: shell exit %d: %s" % (rc, err))
else:
    for (prof, addr, want, _u), row in zip(norm, rows):
        w = unescape(want).decode("utf-8")
        if w == "-":
            expect = "NULL|NULL|NULL"
        else:
            at = w.rindex("@")
            expect = "%s|%s|%s" % (w, w[:at], w[at + 1:])
        if row != expect:
            fail("normalize %s [%s]: want %s, got %s" % (prof, addr, expect, row))
print("normalize.txt through sqlite3: %d cases" % len(norm))

# 3. the edges
checks = [
    ("SELECT is_email(NULL) IS NULL, email_diagnosis(NULL) IS NULL, email_normalize(NULL) IS NULL, "
     "email_domain(NULL) IS NULL, email_local(NULL) IS NULL;", "1|1|1|1|1"),
    ("SELECT is_email('john.doe@example.com'), is_email('user+tag@gmail.com'), is_email('a..b.c@cd.com'), "
     "is_email('a.b@cd.com; DROP TABLE'), is_email('a.b@999.999.999.999');", "1|1|0|0|0"),
    ("SELECT is_email('\"x\"@example.com'), is_email('\"x\"@example.com', 'rfc5322'), "
     "is_email('josé@example.com'), is_email('josé@example.com', 'intl');", "0|1|0|1"),
    ("SELECT email_domain('John.Doe@Example.COM'), email_local('John.Doe@Example.COM');",
     "example.com|John.Doe"),
    # a NULL profile is NULL in, NULL out, as in PostgreSQL (STRICT) and MariaDB
    ("SELECT is_email('a@example.com', NULL) IS NULL, email_domain('a@example.com', NULL) IS NULL;",
     "1|1"),
    # the parts come from the parser: an "@" inside a domain literal stays in the domain
    ("SELECT email_domain('john@[a@b]', 'rfc5322') IS NULL OR email_domain('john@[a@b]', 'rfc5322') != 'b]', "
     "email_local('\"a@b\"@example.com', 'rfc5322');", "1|\"a@b\""),
]
script = ".mode list\n.separator |\n" + "\n".join(c for c, _ in checks) + "\n"
rc, out, err = sql(script)
for (c, want), got in zip(checks, out.splitlines() + [""] * len(checks)):
    if got != want:
        fail("%s: want %s, got %s" % (c, want, got))

rc, out, err = sql("SELECT is_email('a@b.com', 'strict');\n")
if "unknown e-mail profile" not in err:
    fail("an unknown profile should be an SQL error, got: %r %r" % (out, err))

# deterministic: allowed in an index expression, a CHECK constraint, a
# generated column; the check constraint refuses a bad address
rc, out, err = sql("""
CREATE TABLE c(id INTEGER PRIMARY KEY, email_address TEXT CHECK (is_email(email_address)),
               domain TEXT GENERATED ALWAYS AS (email_domain(email_address)) VIRTUAL);
CREATE INDEX c_domain ON c(email_domain(email_address));
INSERT INTO c(email_address) VALUES ('a@example.com'), ('B@Example.org');
SELECT group_concat(domain, ',') FROM c;
INSERT INTO c(email_address) VALUES ('not an address');
""")
if out.strip() != "example.com,example.org" or "CHECK constraint failed" not in err:
    fail("deterministic uses: out %r err %r" % (out, err))

# the query of issue 5, rewritten: the customers whose address is not valid
rc, out, err = sql("""
CREATE TABLE customer(id INTEGER PRIMARY KEY, email_address TEXT);
INSERT INTO customer(email_address) VALUES ('john.doe@example.com'), ('user+tag@gmail.com'),
  ('a.b@cd.com; DROP TABLE'), ('a..b.c@cd.com'), ('a.b@999.999.999.999'), (NULL);
SELECT c.id, c.email_address, email_diagnosis(c.email_address) FROM customer c
 WHERE NOT is_email(c.email_address) ORDER BY c.id;
""")
want = ("3|a.b@cd.com; DROP TABLE|email.err-expecting-atext\n4|a..b.c@cd.com|email.err-consecutive-dots\n"
        "5|a.b@999.999.999.999|email.rfc5321-tld-numeric\n")
if out != want:
    fail("issue 5 query: want %r, got %r (err %r)" % (want, out, err))

print("%s: %d failures" % ("FAILED" if failures else "passed", failures))
sys.exit(1 if failures else 0)
