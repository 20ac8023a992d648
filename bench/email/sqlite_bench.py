#!/usr/bin/env python3
"""SQLite: SELECT count(*) FROM t WHERE is_email(x) against the same query
with length(x) > 0, over the corpus (one row per address), in the real
sqlite3 shell with the extension loaded. Prints "name rows_per_second count"
(CPU time, best of ROUNDS).

usage: sqlite_bench.py CORPUS MODULE WORKDIR [ROUNDS]"""
import os
import re
import sqlite3
import subprocess
import sys

corpus, module, work = sys.argv[1], sys.argv[2], sys.argv[3]
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
db = os.path.join(work, "bench.db")
if os.path.exists(db):
    os.remove(db)
con = sqlite3.connect(db)
con.execute("CREATE TABLE t(x TEXT)")
with open(corpus, encoding="utf-8", errors="replace") as f:
    rows = [(line.rstrip("\n"),) for line in f]
con.executemany("INSERT INTO t VALUES (?)", rows)
con.commit()
con.close()
n = len(rows)

queries = [("sqlite_length", "SELECT count(*) FROM t WHERE length(x) > 0;"),
           ("sqlite_is_email", "SELECT count(*) FROM t WHERE is_email(x);")]
script = ".load %s\n.timer on\n" % os.path.splitext(module)[0]
for _ in range(rounds):
    for _, q in queries:
        script += q + "\n"
out = subprocess.run(["sqlite3", db], input=script.encode(), capture_output=True, check=True).stdout.decode()
# each query prints its count, then "Run Time: real R user U sys S"
results = re.findall(r"^(\d+)\nRun Time: real ([\d.]+) user ([\d.]+) sys ([\d.]+)", out, re.M)
best = {}
for i, (cnt, real, user, sys_) in enumerate(results):
    name = queries[i % len(queries)][0]
    t = float(user) + float(sys_)
    if name not in best or t < best[name][0]:
        best[name] = (t, int(cnt))
for name, _ in queries:
    t, cnt = best[name]
    print("%s %.0f %d" % (name, n / t if t > 0 else 0, cnt))
