#!/usr/bin/python3
"""mbox_share_corpus.py MBOX EXPECT [--reports N]: one mbox for mbox-share.sh.

N aggregate reports as gen_corpus.py writes them (gzip or zip, base64, in
multipart messages), and between them, at fixed places, the cases a shared
reader must get right:
  - a copy of an earlier message, byte for byte (a plain duplicate), and a
    report with an earlier one's identity and another record count (a
    conflicting duplicate): which copy is stored depends on the order;
  - a report whose message quotes ">From " lines (mboxrd/mboxo quoting);
  - a message with a "From " line in its text: the message ends there (no
    report in what came before: skipped), and what follows cannot be
    parsed as a message (set aside);
  - a truncated gzip attachment (set aside), a message with no report
    (skipped);
  - a failure report (ARF) and a TLS report (JSON), stored between
    aggregate reports;
  - one report of 60,000 records, many times a reader's 4 MiB lane.
EXPECT gets one line per message of the mbox as the splitter must cut it:
"NUMBER BYTE FATE" (FATE: new, duplicate, conflict, failed, skipped), in
the mbox's order, BYTE the offset of its "From " line."""
import argparse
import base64
import gzip
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../bench/report"))
import gen_corpus  # noqa: E402

FROM_LINE = "From dmarc@bench.example Mon Sep  1 00:00:00 2026\n"

TLSRPT = ('{"organization-name":"Share Test","date-range":{"start-datetime":"2026-11-01T00:00:00Z",'
          '"end-datetime":"2026-11-01T23:59:59Z"},"contact-info":"tls@share.example","report-id":"share-tls-1",'
          '"policies":[{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce",'
          '"mx: mail.example.com","max_age: 604800"],"policy-domain":"example.com"},'
          '"summary":{"total-successful-session-count":12,"total-failure-session-count":1}}]}')

ARF = """From: dmarc_failure@share.example
Date: Thu, 8 Mar 2026 17:40:36 +0000
Subject: FW: failure
To: arf@example.com
Message-ID: <share-failure-1@share.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="arf"

--arf
Content-Type: text/plain

An authentication failure report.

--arf
Content-Type: message/feedback-report

Feedback-Type: auth-failure
User-Agent: ShareTest/1.0
Version: 1
Original-Mail-From: <someone@example.net>
Arrival-Date: Thu, 8 Mar 2026 14:00:00 +0000
Source-IP: 192.0.2.1
Authentication-Results: mail.example.com; dmarc=fail header.from=example.com
Auth-Failure: dmarc
Reported-Domain: example.com

--arf
Content-Type: text/rfc822-headers

From: <someone@example.com>
Subject: hello
Message-ID: <original-1@example.com>

--arf--
"""


def plain(subject, body, n):
    return ("From: someone@share.example\nTo: dmarc@example.com\nSubject: %s\nMessage-ID: <plain.%d@share.example>\n"
            "MIME-Version: 1.0\nContent-Type: text/plain\n\n%s" % (subject, n, body))


def with_attachment(subject, text, ctype, name, payload, n):
    b64 = base64.encodebytes(payload).decode()
    return ("From: reporter@share.example\nTo: dmarc@example.com\nSubject: %s\nMessage-ID: <att.%d@share.example>\n"
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"s%d\"\n\n--s%d\nContent-Type: text/plain\n\n"
            "%s\n--s%d\nContent-Type: %s; name=\"%s\"\nContent-Transfer-Encoding: base64\n"
            "Content-Disposition: attachment; filename=\"%s\"\n\n%s--s%d--\n"
            % (subject, n, n, n, text, n, ctype, name, name, b64, n))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mbox")
    p.add_argument("expect")
    p.add_argument("--reports", type=int, default=300)
    a = p.parse_args()
    rng = random.Random(20)
    messages = []  # (text, fates): fates, one per message the text makes
    xmls = []
    for n in range(a.reports):
        xml, org, domain, _ = gen_corpus.report_xml(rng, n, gen_corpus.record_count(rng, 20))
        xmls.append(xml)
        messages.append((gen_corpus.message(xml, org, domain, n, rng, rng.choice(["gz", "zip"])).replace("\r\n", "\n"),
                         ["new"]))
        if n == 10:
            messages.append((messages[3][0], ["duplicate"]))
        elif n == 20:
            # the identity of report 5, one record counted once more
            xml5 = xmls[5]
            at = xml5.index(b"<count>") + len(b"<count>")
            end = xml5.index(b"</count>", at)
            changed = xml5[:at] + str(int(xml5[at:end]) + 1).encode() + xml5[end:]
            messages.append((with_attachment("conflict", "A changed copy.", "application/gzip", "r5.xml.gz",
                                             gzip.compress(changed), 9000), ["conflict"]))
        elif n == 30:
            xml, org, domain, _ = gen_corpus.report_xml(rng, 100000 + n, 5)
            messages.append((with_attachment("quoted", ">From the quoting of mboxrd\n>>From twice quoted\n",
                                             "application/gzip", "q.xml.gz", gzip.compress(xml), 9001), ["new"]))
        elif n == 40:
            # a "From " line in the text ends the message; what follows is no message
            messages.append((plain("cut", "Some text.\nFrom here on the line begins a message\n"
                                   "and this line is no header field\n\nmore text\n", 9002),
                             ["skipped", "failed"]))
        elif n == 50:
            xml, org, domain, _ = gen_corpus.report_xml(rng, 100000 + n, 5)
            messages.append((with_attachment("truncated", "Cut short.", "application/gzip", "t.xml.gz",
                                             gzip.compress(xml)[:200], 9003), ["failed"]))
        elif n == 60:
            messages.append((plain("hello", "No report here.\n", 9004), ["skipped"]))
        elif n == 70:
            messages.append((ARF, ["new"]))
        elif n == 80:
            messages.append((with_attachment("tls", "A TLS report.", "application/tlsrpt+json", "t.json",
                                             TLSRPT.encode(), 9005), ["new"]))
        elif n == 90:
            xml, org, domain, _ = gen_corpus.report_xml(rng, 100000 + n, 60000)
            messages.append((with_attachment("big", "A big one.", "application/gzip", "big.xml.gz",
                                             gzip.compress(xml, 1), 9006), ["new"]))
    offset = number = 0
    with open(a.mbox, "w", newline="") as f, open(a.expect, "w") as e:
        for text, fates in messages:
            whole = FROM_LINE + text + "\n"
            f.write(whole)
            # each fate is one message of the cut: a "From " line within starts the next
            starts = [0] + [i + 1 for i in range(len(whole) - 5) if whole[i] == "\n" and whole.startswith("From ", i + 1)]
            assert len(starts) == len(fates), (len(starts), fates)
            for start, fate in zip(starts, fates):
                number += 1
                e.write("%d %d %s\n" % (number, offset + len(whole[:start].encode()), fate))
            offset += len(whole.encode())


if __name__ == "__main__":
    main()
