#!/usr/bin/env python3
"""An address list as a CSV file: id, name and the address, one row per
line, each field quoted where RFC 4180 needs it (the `--csv` input of
cli.sh and compare.sh).

usage: list_to_csv.py LIST > list.csv
"""
import csv
import sys

w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(["id", "name", "email"])
with open(sys.argv[1], encoding="utf-8", errors="surrogateescape") as f:
    for i, line in enumerate(f):
        w.writerow([i, "Customer %d" % i, line.rstrip("\n")])
