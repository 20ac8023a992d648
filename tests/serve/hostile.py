#!/usr/bin/python3
"""Writes the reports the dashboard tests store: ten days of DMARC aggregate
reports for example.com (the policy going none -> quarantine -> reject),
and reports whose every string a sender controls carries an HTML, script
or SVG payload: org names, report ids, domains, header From, DKIM and SPF
domains, a failure report's headers, a TLS report's names.

    hostile.py DIR      writes DIR/*.xml, DIR/*.eml, DIR/*.json and
                        DIR/payloads.json (the markers the browser test
                        looks for as text)
    hostile.py DIR N    writes N plain reports for bulk.example instead
                        (ingested while the server reads the store)

Each payload, if it ever ran, would set window.__pwned: the browser test
asserts it never is, and that no element the payloads carry exists."""
import json
import os
import sys
from xml.sax.saxutils import escape

DAY = 86400
START = 1700006400  # 2023-11-15T00:00:00Z

# Each payload holds a marker the browser test finds as page text.
PAYLOADS = {
    "org": '<script>window.__pwned=1</script>EvilOrg<img src=x onerror="window.__pwned=2">',
    "report_id": '"><svg/onload=window.__pwned=3>rid-<b>bold</b>',
    "header_from": "\"><script>window.__pwned=5</script>hf.example",
    "dkim_domain": "<svg><script>window.__pwned=6</script></svg>dk.example",
    "spf_domain": "javascript:window.__pwned=7//sp.example",
    "tls_org": "<iframe src=javascript:window.__pwned=8></iframe>TlsOrg",
    "tls_mx": "<img src=x onerror=window.__pwned=9>mx.example",
    "subject": "<script>window.__pwned=10</script>Invoice",
    "policy": "<style>body{display:none}</style>none",
    "rtl": "evil\u202egnp.exe",
}


def record(ip, count, dkim, spf, disposition="none", header_from="example.com",
           dkim_domain="example.com", spf_domain="example.com", auth_spf=None):
    """dkim, spf: the DMARC evaluation (aligned results); auth_spf: the raw
    SPF result when it differs (a pass for another domain: unaligned)."""
    return f"""  <record>
    <row><source_ip>{ip}</source_ip><count>{count}</count>
      <policy_evaluated><disposition>{disposition}</disposition><dkim>{dkim}</dkim><spf>{spf}</spf></policy_evaluated></row>
    <identifiers><header_from>{escape(header_from)}</header_from></identifiers>
    <auth_results><dkim><domain>{escape(dkim_domain)}</domain><selector>s1</selector><result>{dkim}</result></dkim><spf><domain>{escape(spf_domain)}</domain><scope>mfrom</scope><result>{auth_spf or spf}</result></spf></auth_results>
  </record>
"""


def aggregate(org, report_id, day, p, pct, records, domain="example.com"):
    begin = START + day * DAY
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <version>1.0</version>
  <report_metadata>
    <org_name>{escape(org)}</org_name>
    <email>dmarc@reporter.example</email>
    <report_id>{escape(report_id)}</report_id>
    <date_range><begin>{begin}</begin><end>{begin + DAY - 1}</end></date_range>
  </report_metadata>
  <policy_published><domain>{escape(domain)}</domain><adkim>r</adkim><aspf>r</aspf><p>{escape(p)}</p><sp>{escape(p)}</sp><pct>{pct}</pct></policy_published>
{''.join(records)}</feedback>
"""


def failure_report():
    return f"""From: "{PAYLOADS['org']}" <dmarc-noreply@receiver.example>
To: dmarc-ruf@example.com
Subject: DMARC failure report for example.com
Date: Fri, 17 Nov 2023 09:12:40 +0000
Message-ID: <ruf-hostile-0001@receiver.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
\tboundary="b1"

--b1
Content-Type: text/plain; charset="us-ascii"

An authentication failure report.

--b1
Content-Type: message/feedback-report

Feedback-Type: auth-failure
User-Agent: <script>window.__pwned=11</script>Agent/1
Version: 1
Original-Mail-From: <bounces@mailer.example>
Arrival-Date: Fri, 17 Nov 2023 09:10:02 +0000
Source-IP: 198.51.100.7
Incidents: 2
Reported-Domain: example.com
Auth-Failure: dmarc
DKIM-Domain: example.com

--b1
Content-Type: message/rfc822

From: "<img src=x onerror=window.__pwned=12>Billing" <billing@example.com>
To: alice@receiver.example
Subject: {PAYLOADS['subject']}
X-Evil: </pre><script>window.__pwned=13</script>
Message-ID: <invoice-8812@mailer.example>
Date: Fri, 17 Nov 2023 09:10:00 +0000

[body redacted]

--b1--
"""


def tls_report(day):
    start = START + day * DAY
    iso = lambda t: __import__("time").strftime("%Y-%m-%dT%H:%M:%SZ", __import__("time").gmtime(t))
    return json.dumps({
        "organization-name": PAYLOADS["tls_org"],
        "date-range": {"start-datetime": iso(start), "end-datetime": iso(start + DAY - 1)},
        "contact-info": "sts@reporter.example",
        "report-id": f"tls-{day}-" + PAYLOADS["report_id"],
        "policies": [{
            "policy": {"policy-type": "sts", "policy-string": ["version: STSv1", "mode: enforce"],
                       "policy-domain": "example.com", "mx-host": ["mx.example.com"]},
            "summary": {"total-successful-session-count": 900 + day, "total-failure-session-count": 10 * day},
            "failure-details": [{"result-type": "certificate-expired", "sending-mta-ip": "192.0.2.1",
                                 "receiving-mx-hostname": PAYLOADS["tls_mx"], "failed-session-count": 10 * day}],
        }],
    }, indent=1)


def bulk(out, n):
    for i in range(n):
        with open(f"{out}/bulk-{i:04d}.xml", "w") as f:
            f.write(aggregate("Bulk Reporter", f"bulk-{i}", i % 10, "none", 100,
                              [record(f"192.0.2.{i % 250 + 1}", 10, "pass", "pass", header_from="bulk.example")],
                              domain="bulk.example"))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    if len(sys.argv) > 2:
        return bulk(out, int(sys.argv[2]))
    steps = [("none", 100)] * 4 + [("quarantine", 25)] * 3 + [("reject", 100)] * 3
    for day, (p, pct) in enumerate(steps):
        records = [
            record("192.0.2.10", 400 + 10 * day, "pass", "pass"),
            record("203.0.113.5", 30, "fail", "fail", spf_domain="mailer.example", auth_spf="pass"),
            record("198.51.100.7", 20 - day, "fail", "fail",
                   disposition="none" if p == "none" else p),
        ]
        with open(f"{out}/agg-{day:02d}.xml", "w") as f:
            f.write(aggregate("Receiver Inc.", f"r-{day}", day, p, pct, records))
    hostile = [record("198.51.100.66", 7, "fail", "fail", header_from=PAYLOADS["header_from"],
                      dkim_domain=PAYLOADS["dkim_domain"], spf_domain=PAYLOADS["spf_domain"])]
    with open(f"{out}/hostile-agg.xml", "w") as f:
        f.write(aggregate(PAYLOADS["org"] + PAYLOADS["rtl"], PAYLOADS["report_id"], 5, PAYLOADS["policy"], 100,
                          hostile))
    with open(f"{out}/hostile-failure.eml", "w") as f:
        f.write(failure_report())
    for day in (1, 4, 8):
        with open(f"{out}/tls-{day}.json", "w") as f:
            f.write(tls_report(day))
    with open(f"{out}/payloads.json", "w") as f:
        json.dump(PAYLOADS, f)


main()
