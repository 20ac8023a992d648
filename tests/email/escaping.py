#!/usr/bin/python3
"""`mailsec email check`'s output of hostile addresses, byte for byte,
against rules written out here independently of src/email.c:

  - CSV (RFC 4180): a field holding a comma, a quote, a CR or a LF is
    quoted, its quotes doubled; a field is cut at its first NUL (a NUL
    cannot travel in CSV); a --csv input's other fields come back as they
    were, quoted the same way;
  - JSON: each result line is what jansson writes with JSON_ENSURE_ASCII
    (Python's json.dumps with ensure_ascii, its \\u escapes in capitals),
    and its address is the input with each byte that is not part of a
    well-formed UTF-8 character replaced by U+FFFD;
  - text: the address as the terminal sees it (cli_put_escaped): C0
    controls, DEL and bytes that are not UTF-8 as \\xHH, C1 controls and
    bidirectional controls as \\uHHHH, and in a locale that is not UTF-8
    every non-ASCII character as \\uHHHH or \\UHHHHHHHH.

Every format under profiles rfc5322 (valid quoted strings with commas and
quotes, whose normal forms need quoting too) and intl (UTF-8), with the
long inputs that take the vector paths and the short ones that do not.

usage: escaping.py MAILSEC
"""
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile

MAILSEC = sys.argv[1]
WORK = tempfile.mkdtemp()
rng = random.Random(12)
failures = 0


def fail(why):
    global failures
    failures += 1
    if failures <= 20:
        print("FAIL - " + why)


PIECES = [b"a", b"Z", b"0", b".", b"@", b",", b'"', b"\\", b"\r", b"\x00", b"\x01", b"\x1f", b"\x7f", b" ",
          b"\t", b"(", b")", b"[", b"]", b"\xc3\xa9", b"e\xcc\x81", b"\xe6\xb5\x8b", b"\xf0\x9f\x98\x80",
          b"\xc2\x85", b"\xe2\x80\xae", b"\xe2\x81\xa6", b"\xff", b"\xc0\xaf", b"\xe2\x82", b"\xed\xa0\x80",
          b"\xf4\x90\x80\x80", b"xn--", b"-", b"example", b"COM"]
SHAPES = [b'"%s"@example.com', b'"a,%s"@Example.COM', b"%s@example.com", b"user@%s", b"%s",
          b"%s@b\xc3\xbccher.example", b"first.last@%s.example"]


def hostile(no_lf=True):
    """An address-like string of hostile bytes, short or long."""
    n = rng.choice([1, 3, 7, 15, 16, 17, 31, 40, 70])
    body = b"".join(rng.choice(PIECES) for _ in range(n))
    a = rng.choice(SHAPES) % body if rng.random() < 0.7 else body
    a = a.rstrip(b"\r")  # a line's last CR is its line end
    return a if a else b"x"


def addresses():
    fixed = [b"Plain@Example.COM", b'"a,b"@example.com', b'"q\\"x"@example.com', b'"a\\\\b"@EXAMPLE.com',
             b"jos\xc3\xa9@B\xc3\xbccher.example", b"a\x00b@example.com", b'"x\x01y"@example.com',
             b"a@" + b"b" * 40 + b".example", b'"' + b"," * 30 + b'"@example.com']
    return fixed + [hostile() for _ in range(3000)]


def run(args, locale="C.UTF-8"):
    p = subprocess.run([MAILSEC, "email", "check"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env={"LC_ALL": locale, "PATH": "/usr/bin:/bin"})
    if p.returncode not in (0, 1):
        fail("%s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr.decode(errors="replace")[:300]))
    return p.stdout


def csvq(field):
    field = field.split(b"\x00")[0]
    if any(c in field for c in (b",", b'"', b"\r", b"\n")):
        return b'"' + field.replace(b'"', b'""') + b'"'
    return field


def utf8_char(b, i):
    """The length of the well-formed UTF-8 character at b[i] (RFC 3629), or 0."""
    for n in (1, 2, 3, 4):
        if i + n <= len(b):
            try:
                if len(b[i:i + n].decode("utf-8")) == 1:
                    return n
            except UnicodeDecodeError:
                pass
    return 0


def json_text(b):
    out, i = [], 0
    while i < len(b):
        n = utf8_char(b, i)
        out.append(b[i:i + n].decode("utf-8") if n else "\ufffd")
        i += n or 1
    return "".join(out)


def jansson_escape(m):
    e = m.group(0)
    if e == "\\u007f":
        return "\x7f"  # DEL: jansson writes it as it is
    return "\\u" + e[2:].upper() if e[1] == "u" else e


def jansson(obj):
    text = json.dumps(obj, ensure_ascii=True, separators=(",", ":"))
    return re.sub(r"\\u[0-9a-f]{4}|\\.", jansson_escape, text)


def shown(b, utf8):
    out, i = [], 0
    while i < len(b):
        n = utf8_char(b, i)
        cp = ord(b[i:i + n].decode("utf-8")) if n else None
        if cp is None or cp < 0x20 or cp == 0x7F:
            out.append("\\x%02x" % b[i])
            i += 1
            continue
        bidi = 0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069 or cp in (0x200E, 0x200F, 0x061C)
        if 0x80 <= cp <= 0x9F or bidi or (not utf8 and cp >= 0x80):
            out.append("\\U%08x" % cp if cp > 0xFFFF else "\\u%04x" % cp)
        else:
            out.append(chr(cp))
        i += n
    return "".join(out).encode("utf-8")


def results(out):
    """The JSON document's result lines, as written."""
    lines = out.split(b"\n")
    start = lines.index(b'  "results": [') + 1
    end = lines.index(b"  ],")
    return [line.strip().rstrip(b",") for line in lines[start:end]]


def check_list(profile, addrs):
    with open(WORK + "/list.txt", "wb") as f:
        f.write(b"".join(a + b"\n" for a in addrs))
    lines = results(run(["--profile", profile, "--json", "--file", WORK + "/list.txt"]))
    if len(lines) != len(addrs):
        fail("%s: %d JSON results for %d addresses" % (profile, len(lines), len(addrs)))
        return None
    got = []
    for a, line in zip(addrs, lines):
        obj = json.loads(line)
        got.append(obj)
        if line.decode("ascii", errors="replace") != jansson(obj):
            fail("%s: JSON %r written as %r, jansson writes %r" % (profile, a, line, jansson(obj)))
        if obj["address"] != json_text(a):
            fail("%s: JSON address %r for %r" % (profile, obj["address"], a))

    csv = run(["--profile", profile, "--format", "csv", "--file", WORK + "/list.txt"])
    want = b"address,valid,category,diagnosis,normalized\n" + b"".join(
        b",".join([csvq(a), b"true" if o["valid"] else b"false", o["category"].encode(), o["diagnosis"].encode(),
                   csvq((o["normalized"] or "").encode("utf-8"))]) + b"\n" for a, o in zip(addrs, got))
    compare("%s: CSV" % profile, csv, want)

    for locale, utf8 in (("C.UTF-8", True), ("C", False)):
        text = run(["--profile", profile, "--file", WORK + "/list.txt"], locale).split(b"\n")
        items = [line for line in text[:text.index(b"")] if not line.startswith(b"    ")]
        marks = ("\u2713", "!", "\u2717") if utf8 else ("+", "!", "x")
        for a, line, o in zip(addrs, items, got):
            mark = marks[0] if o["valid"] and o["category"] == "valid" else marks[1] if o["valid"] else marks[2]
            head = b"  " + mark.encode() + b" " + shown(a, utf8) + b"  "
            if not line.startswith(head):
                fail("%s, %s: text %r, want it to start %r" % (profile, locale, line, head))
        if len(items) != len(addrs):
            fail("%s, %s: %d text results for %d addresses" % (profile, locale, len(items), len(addrs)))
    return got


def check_csv_input(profile, addrs, got):
    """The same addresses as a CSV column between hostile fields."""
    rows = [[b"id", b"email", b"note"]]
    kept = [(a, o) for a, o in zip(addrs, got) if b"\x00" not in a]  # a CSV field ends at a NUL
    addrs, got = [a for a, _ in kept], [o for _, o in kept]
    for i, a in enumerate(addrs):
        note = b"".join(rng.choice([b"x", b",", b'"', b"\n", b"\r", b" ", b"\xc3\xa9"]) for _ in range(rng.randrange(4)))
        rows.append([str(i).encode(), a, note])
    with open(WORK + "/in.csv", "wb") as f:
        f.write(b"".join(b",".join(csvq(x) for x in row) + b"\n" for row in rows))
    out = run(["--profile", profile, "--csv", WORK + "/in.csv", "--column", "email"])
    want = b"id,email,note,valid,category,diagnosis,normalized\n" + b"".join(
        b",".join([csvq(x) for x in row] + [b"true" if o["valid"] else b"false", o["category"].encode(),
                                            o["diagnosis"].encode(), csvq((o["normalized"] or "").encode("utf-8"))])
        + b"\n" for row, o in zip(rows[1:], got))
    compare("%s: --csv" % profile, out, want)


def compare(what, out, want):
    if out == want:
        return
    a, b = out.split(b"\n"), want.split(b"\n")
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y:
            fail("%s, line %d: %r, want %r" % (what, k + 1, x, y))
            return
    fail("%s: %d lines, want %d" % (what, len(a), len(b)))


addrs = addresses()
try:
    for profile in ("rfc5322", "intl", "smtp"):
        got = check_list(profile, addrs)
        if got is not None:
            check_csv_input(profile, addrs, got)
finally:
    shutil.rmtree(WORK)
print("email output escaping: %d addresses, %d failures" % (len(addrs), failures))
sys.exit(1 if failures else 0)
