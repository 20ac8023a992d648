#!/usr/bin/env python3
"""python-email-validator (Debian python3-email-validator), syntax only,
on the first COUNT addresses of the corpus. Prints "name rate valid".

usage: py_bench.py CORPUS [COUNT]"""
import sys
import time

from email_validator import EmailNotValidError, validate_email

path = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
with open(path, encoding="utf-8", errors="surrogateescape") as f:
    addrs = [line.rstrip("\n") for _, line in zip(range(count), f)]
best = None
valid = 0
for _ in range(2):
    valid = 0
    t0 = time.process_time()
    for a in addrs:
        try:
            validate_email(a, check_deliverability=False)
            valid += 1
        except (EmailNotValidError, UnicodeError):
            pass
    t = time.process_time() - t0
    best = t if best is None or t < best else best
print("python_email_validator %.0f %d" % (len(addrs) / best, valid))
