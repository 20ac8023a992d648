#!/usr/bin/python3
"""Evaluations for the `report send` tests (send.sh, send-mail.sh).

  send_evals.py DAY0 DOMAIN... > EVALUATIONS   (send-record's input)
  writes EXPECTED.json next to it: per "domain day" the <record>s the
  store groups them into and the messages they count.

Two UTC days (DAY0 and the day before), every domain given; a fixed seed,
so the same evaluations every run. The values vary over every field the
grouping compares (source IP, identifiers, policy evaluated, overrides,
DKIM and SPF results), with comments holding markup (<, &) and the longest
domains the store keeps, so grouping and escaping are both exercised.
"""
import json
import random
import sys

day0 = int(sys.argv[1])
domains = sys.argv[2:-1]
expected_path = sys.argv[-1]
rng = random.Random(9990)
ips = ["192.0.2.%d" % i for i in range(1, 20)] + ["2001:db8::%x" % i for i in range(1, 8)]
long_domain = ".".join(["l" * 63] * 3) + "." + "x" * 59  # 251 bytes: kept whole

out = []
expected = {}
for day in (day0 - 86400, day0):
    for domain in domains:
        record = "v=DMARC1; p=quarantine; sp=none; adkim=s; fo=1"
        for _ in range(rng.randint(40, 80)):
            ev = {
                "time": day + rng.randint(0, 86399),
                "source_ip": rng.choice(ips),
                "header_from": rng.choice([domain, "news." + domain, long_domain]),
                "envelope_from": rng.choice([domain, "bounce.example", None]),
                "envelope_to": rng.choice(["receiver.example", None]),
                "policy_domain": domain,
                "policy_record": record,
                "disposition": rng.choice(["none", "quarantine", "reject"]),
                "dkim_aligned": rng.choice(["pass", "fail"]),
                "spf_aligned": rng.choice(["pass", "fail"]),
                "spf_domain": rng.choice([domain, "helo.example"]),
                "spf_scope": rng.choice(["mfrom", "helo"]),
                "spf_result": rng.choice(["pass", "fail", "softfail", "none", "temperror"]),
                "dkim": rng.choice([[], [{"domain": domain, "selector": "s1", "result": "pass"}],
                                    [{"domain": domain, "selector": "s1", "result": "fail"},
                                     {"domain": "esp.example", "selector": "k2", "result": "pass"}]]),
                "overrides": rng.choice([[], [{"type": "forwarded", "comment": "via <list> & co"}],
                                         [{"type": "local_policy", "comment": None}]]),
                "repeat": rng.choice([1, 1, 1, 2, 7]),
            }
            ev = {k: v for k, v in ev.items() if v is not None}
            out.append(ev)
            key = json.dumps({k: v for k, v in ev.items() if k not in ("time", "repeat",
                                                                     "policy_record")},
                             sort_keys=True)
            slot = expected.setdefault("%s %d" % (domain, day), {"groups": set(), "messages": 0})
            slot["groups"].add(key)
            slot["messages"] += ev["repeat"]

for ev in out:
    print(json.dumps(ev))
with open(expected_path, "w") as f:
    json.dump({k: {"records": len(v["groups"]), "messages": v["messages"]}
               for k, v in expected.items()}, f, sort_keys=True)
