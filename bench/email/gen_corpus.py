#!/usr/bin/env python3
"""A realistic mixed corpus of e-mail addresses, one per line, reproducible.

usage: gen_corpus.py COUNT [SEED] > corpus.txt

The mix, roughly what a customer table holds: mostly plain valid
addresses at common providers and company domains, then plus-tags,
subdomains, long TLDs, internationalized addresses (IDN and UTF-8 local
parts), quoted local parts, and broken input (typos, lists, missing parts,
white space, SQL fragments, doubled dots).
"""
import random
import sys

count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 5)

first = ["john", "jane", "maria", "wei", "ahmed", "olga", "pierre", "kenji", "anna", "li", "carlos",
         "fatima", "michael", "sarah", "david", "emma", "lucas", "sofia", "noah", "mia", "a", "j"]
last = ["doe", "smith", "garcia", "wang", "mueller", "rossi", "kim", "nguyen", "johnson", "silva",
        "ivanova", "brown", "martin", "lee", "lopez", "x"]
providers = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "gmx.de", "web.de",
             "mail.ru", "qq.com", "163.com", "yandex.ru", "proton.me", "aol.com", "orange.fr"]
companies = ["example.com", "acme-corp.com", "mailsec.example.org", "university.edu", "city.gov",
             "shop.co.uk", "bank.com.au", "startup.io", "agency.de", "company.co.jp"]
long_tlds = ["example.technology", "firm.international", "band.photography", "shop.versicherung",
             "app.engineering", "news.amsterdam"]
idn_domains = ["bücher.example", "例子.广告", "пример.рф", "mañana.com", "xn--bcher-kva.example",
               "xn--e1afmkfd.xn--p1ai"]
utf8_locals = ["josé", "用户", "пользователь", "müller", "ñandú"]


def local():
    f, l = rng.choice(first), rng.choice(last)
    form = rng.random()
    if form < 0.4:
        return "%s.%s" % (f, l)
    if form < 0.6:
        return "%s%s%d" % (f, l, rng.randrange(100))
    if form < 0.75:
        return "%s_%s" % (f, l)
    if form < 0.9:
        return f + l
    return "%s%s" % (f[0], l)


def domain():
    return rng.choice(providers) if rng.random() < 0.65 else rng.choice(companies)


def broken():
    a = "%s@%s" % (local(), domain())
    k = rng.randrange(12)
    if k == 0:
        return a.replace("@", "")                      # no @
    if k == 1:
        return a.replace(".", "..", 1)                 # doubled dot
    if k == 2:
        return a + "; DROP TABLE customer"             # SQL fragment
    if k == 3:
        return " " + a + " "                           # padding
    if k == 4:
        return a + "," + "%s@%s" % (local(), domain())  # a list
    if k == 5:
        return a.replace("@", "@@")
    if k == 6:
        return a.rsplit(".", 1)[0]                     # TLD missing: dotless
    if k == 7:
        return a.replace("@", " at ")
    if k == 8:
        return "@" + domain()
    if k == 9:
        return local() + "@"
    if k == 10:
        return a + "."
    return "<%s>" % a


out = sys.stdout
for _ in range(count):
    r = rng.random()
    if r < 0.70:
        a = "%s@%s" % (local(), domain())
    elif r < 0.78:
        a = "%s+%s@%s" % (local(), rng.choice(["news", "shop", "tag", "2024", "x"]), domain())
    elif r < 0.83:
        a = "%s@%s.%s" % (local(), rng.choice(["mail", "eu", "dept.research", "lists"]), rng.choice(companies))
    elif r < 0.86:
        a = "%s@%s" % (local(), rng.choice(long_tlds))
    elif r < 0.89:
        a = "%s@%s" % (rng.choice(utf8_locals + [local()] * 3), rng.choice(idn_domains))
    elif r < 0.90:
        a = '"%s %s"@%s' % (rng.choice(first), rng.choice(last), domain())
    else:
        a = broken()
    out.write(a + "\n")
