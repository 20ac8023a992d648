#!/usr/bin/env python3
"""Address corpora of a chosen share of non-ASCII addresses, reproducible.

usage: gen_mix.py PERCENT COUNT [SEED] > corpus.txt

PERCENT of the addresses carry non-ASCII text: UTF-8 local parts in
Latin, Cyrillic, Greek, CJK, Devanagari and Arabic script, IDN domains as
U-labels and as A-labels, each in NFC or (a quarter of them) decomposed
(NFD), which profile intl must normalise. The rest is ASCII of every form
the grammar has: plain addresses, plus-tags, quoted strings (with quoted
pairs), comments, domain literals (IPv4 and IPv6), folding white space,
long inputs near and over the RFC 5321 limits, and broken input. The
mixture, not only the happy path, is what a table of addresses holds.
"""
import random
import sys
import unicodedata

percent = float(sys.argv[1]) if len(sys.argv) > 1 else 20
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20)

ascii_locals = ["john", "jane.doe", "m.garcia", "wei.wang", "olga_k", "info", "sales", "no-reply",
                "user+tag", "a", "x_y.z", "first.last", "o'brien", "admin", "j.smith42"]
ascii_domains = ["example.com", "gmail.com", "mail.example.org", "university.edu", "shop.co.uk",
                 "startup.io", "agency.de", "company.co.jp", "eu.lists.example.net", "Example.COM"]
# words per script, for local parts and U-labels
scripts = {
    "latin": ["josé", "müller", "ñandú", "françois", "søren", "łukasz", "zoë", "çelik", "ärger", "jürgen"],
    "cyrillic": ["пользователь", "иван", "почта", "ольга", "привет", "москва"],
    "greek": ["χρήστης", "αλέξης", "ελληνικά", "δοκιμή"],
    "cjk": ["用户", "测试", "例子", "网络", "山田", "メール", "ユーザー", "사용자"],
    "devanagari": ["उपयोगकर्ता", "परीक्षा", "डाक"],
    "arabic": ["مستخدم", "بريد", "اختبار"],
}
tlds_u = ["рф", "中国", "भारत", "ελ", "موقع"]
tlds_a = ["com", "org", "de", "example", "net"]


def word():
    script = rng.choice(list(scripts))
    return rng.choice(scripts[script])


def maybe_nfd(s):
    # a quarter decomposed: e-acute as e + U+0301 and the like
    return unicodedata.normalize("NFD", s) if rng.random() < 0.25 else s


def idn_domain():
    label = word() + (str(rng.randrange(50)) if rng.random() < 0.3 else "")
    tld = rng.choice(tlds_u) if rng.random() < 0.4 else rng.choice(tlds_a)
    d = "%s.%s" % (label, tld)
    if rng.random() < 0.3:  # written as A-labels
        try:
            d = d.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return maybe_nfd(d)


def non_ascii():
    k = rng.random()
    if k < 0.4:
        return "%s@%s" % (maybe_nfd(word()), rng.choice(ascii_domains))
    if k < 0.7:
        return "%s@%s" % (rng.choice(ascii_locals), idn_domain())
    if k < 0.95:
        return "%s.%s@%s" % (maybe_nfd(word()), maybe_nfd(word()), idn_domain())
    # broken: a bidi override, a bad byte sequence stays valid UTF-8 here
    return rng.choice(["admin\u202emoc.elgoog@example.com", "a\u00a0b@example.com",
                       "%s@%s..%s" % (word(), word(), rng.choice(tlds_u))])


def long_input():
    k = rng.randrange(4)
    if k == 0:
        return "%s@example.com" % ("a" * rng.randrange(60, 70))         # local part near 64
    if k == 1:
        return "x@%s.com" % ".".join(["b" * 60] * rng.randrange(3, 5))  # domain near 253
    if k == 2:
        return "y@%s.org" % ("c" * rng.randrange(60, 66))               # label near 63
    return "z" * rng.randrange(200, 400)                                 # no "@" at all


def ascii_form():
    k = rng.random()
    local, domain = rng.choice(ascii_locals), rng.choice(ascii_domains)
    if k < 0.60:
        return "%s@%s" % (local, domain)
    if k < 0.68:
        return '"%s %s"@%s' % (local, rng.choice(ascii_locals), domain)       # quoted string
    if k < 0.71:
        return '"a\\"b\\\\c"@%s' % domain                                      # quoted pairs
    if k < 0.76:
        return "%s(comment)@%s" % (local, domain) if rng.random() < 0.5 else "(c)%s@%s(d)" % (local, domain)
    if k < 0.80:
        return "%s@[192.0.2.%d]" % (local, rng.randrange(256))                # IPv4 literal
    if k < 0.83:
        return "%s@[IPv6:2001:db8::%x]" % (local, rng.randrange(65536))        # IPv6 literal
    if k < 0.85:
        return "%s @ %s" % (local, domain)                                     # white space
    if k < 0.90:
        return long_input()
    a = "%s@%s" % (local, domain)
    return rng.choice([a.replace("@", ""), a.replace(".", "..", 1), a + ".", "@" + domain, local + "@",
                       a + "; DROP TABLE t", "<%s>" % a, a.replace("@", "@@"), a + "," + a])


out = sys.stdout
for _ in range(count):
    a = non_ascii() if rng.random() * 100 < percent else ascii_form()
    out.write(a + "\n")
