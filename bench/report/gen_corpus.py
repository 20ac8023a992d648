#!/usr/bin/python3
"""Large, realistic DMARC report corpora for the ingest benchmarks.

Reports look like the ones receivers send: a few big reporters (many
records, gzip), many small ones (zip, plain XML), some in mail (base64
attachments, one message per report, or all of them in one mbox), RFC 7489
and RFC 9990 schemas, several DKIM/SPF results per record, overrides.
Deterministic for a given --seed.

  gen_corpus.py files OUTDIR --reports N [--records R]   a directory of files, mixed wrappers
  gen_corpus.py mbox FILE --reports N [--records R]      one mbox, every report a message
  gen_corpus.py big FILE --bytes SIZE                    one report of SIZE bytes of XML (.gz if FILE ends so)

Sizes take K, M, G suffixes. Writing is streamed: a 1 GB report or a
10 GB mbox never sits in memory.
"""
import argparse
import base64
import gzip
import io
import os
import random
import sys
import zipfile

REPORTERS = [
    ("google.com", "noreply-dmarc-support@google.com", 0.35),
    ("Outlook.com", "dmarcreport@microsoft.com", 0.25),
    ("Yahoo", "dmarchelp@yahooinc.com", 0.1),
    ("Mail.Ru", "dmarc_support@corp.mail.ru", 0.05),
    ("comcast.net", "dmarc_reports@comcast.net", 0.05),
    ("Enterprise Outlook", "dmarcreport@microsoft.com", 0.05),
    ("web.de", "dmarc@web.de", 0.05),
    ("fastmail.com", "dmarc@fastmail.com", 0.1),
]
DOMAINS = ["example.com", "example.org", "shop.example.net", "mail.example.com", "example.co.uk"]
SENDERS = ["sendgrid.net", "amazonses.com", "mailchimp.com", "outlook.com", "google.com",
           "spoofer.example", "forwarder.example"]


def size_arg(text):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    return int(text[:-1] if mult > 1 else text) * mult


def pick_reporter(rng):
    r = rng.random()
    for name, email, weight in REPORTERS:
        r -= weight
        if r <= 0:
            return name, email
    return REPORTERS[0][:2]


def ip(rng):
    if rng.random() < 0.15:
        return "2001:db8:%x:%x::%x" % (rng.randrange(65536), rng.randrange(65536), rng.randrange(65536))
    return "%d.%d.%d.%d" % (rng.choice([198, 203, 192, 209, 40, 52]), rng.randrange(256),
                            rng.randrange(256), rng.randrange(1, 255))


def record(rng, domain, v2):
    """One <record> and its <count> (the messages it stands for)."""
    sender = rng.choice(SENDERS)
    aligned = sender not in ("spoofer.example", "forwarder.example") and rng.random() < 0.8
    dkim = "pass" if aligned or rng.random() < 0.1 else "fail"
    spf = "pass" if aligned and rng.random() < 0.9 else "fail"
    disposition = "none" if dkim == "pass" or spf == "pass" else rng.choice(["none", "quarantine", "reject"])
    source = ip(rng)
    count = rng.choice([1, 1, 1, 2, 3, 7, 40, 120])
    out = ["<record><row><source_ip>%s</source_ip><count>%d</count>" % (source, count),
           "<policy_evaluated><disposition>%s</disposition><dkim>%s</dkim><spf>%s</spf>" % (disposition, dkim, spf)]
    if rng.random() < 0.05:
        out.append("<reason><type>%s</type><comment>%s</comment></reason>"
                   % (rng.choice(["forwarded", "mailing_list", "local_policy"]), "arc=pass"))
    out.append("</policy_evaluated></row><identifiers>")
    if v2 or rng.random() < 0.3:
        out.append("<envelope_to>%s</envelope_to>" % rng.choice(["gmail.com", "outlook.com", "yahoo.com"]))
    out.append("<envelope_from>%s</envelope_from><header_from>%s</header_from></identifiers><auth_results>"
               % (domain if aligned else sender, domain))
    for _ in range(rng.choice([1, 1, 2])):
        out.append("<dkim><domain>%s</domain><selector>s%d</selector><result>%s</result></dkim>"
                   % (domain if dkim == "pass" else sender, rng.randrange(3), dkim if rng.random() < 0.9 else "none"))
    out.append("<spf><domain>%s</domain><scope>mfrom</scope><result>%s</result></spf></auth_results></record>\n"
               % (domain if aligned else sender, "pass" if spf == "pass" else rng.choice(["fail", "softfail", "neutral"])))
    return "".join(out), count


def header(rng, n, domain, v2):
    name, email = pick_reporter(rng)
    begin = 1790000000 + rng.randrange(0, 86400 * 300)
    ns = ' xmlns="urn:ietf:params:xml:ns:dmarc-2.0"' if v2 else ""
    meta = ['<?xml version="1.0" encoding="UTF-8"?>\n<feedback%s>\n' % ns]
    meta.append("<version>%s</version>" % ("2.0" if v2 else "1.0"))
    meta.append("<report_metadata><org_name>%s</org_name><email>%s</email>"
                "<report_id>%d.%d</report_id><date_range><begin>%d</begin><end>%d</end></date_range>"
                % (name, email, n, rng.randrange(1 << 40), begin, begin + 86399))
    if v2:
        meta.append("<generator>bench-gen 1.0</generator>")
    meta.append("</report_metadata>\n<policy_published><domain>%s</domain><adkim>r</adkim><aspf>r</aspf>"
                "<p>%s</p><sp>none</sp>" % (domain, rng.choice(["none", "quarantine", "reject"])))
    meta.append("<np>reject</np><testing>n</testing><discovery_method>treewalk</discovery_method>"
                if v2 else "<pct>100</pct><fo>1</fo>")
    meta.append("</policy_published>\n")
    return "".join(meta), name


def report_xml(rng, n, records):
    domain = rng.choice(DOMAINS)
    v2 = rng.random() < 0.3
    head, org = header(rng, n, domain, v2)
    made = [record(rng, domain, v2) for _ in range(records)]
    body = [head] + [text for text, _ in made] + ["</feedback>\n"]
    return "".join(body).encode(), org, domain, sum(count for _, count in made)


def record_count(rng, mean):
    # Most reports are small; a few reporters send big ones.
    return max(1, int(rng.expovariate(1.0 / mean)))


def message(xml, org, domain, n, rng, kind):
    name = "%s!%s!%d.xml" % (org.replace(" ", ""), domain, n)
    if kind == "gz":
        payload, ctype, name = gzip.compress(xml, 6), "application/gzip", name + ".gz"
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(name, xml)
        payload, ctype, name = buf.getvalue(), rng.choice(["application/zip", "application/octet-stream"]), name + ".zip"
    b64 = base64.encodebytes(payload).decode()
    return ("From: %s <dmarc@%s.example>\r\nTo: dmarc@%s\r\nSubject: Report domain: %s Submitter: %s Report-ID: %d\r\n"
            "Message-ID: <%d.%d@bench.example>\r\nDate: Mon, 1 Sep 2026 00:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\nContent-Type: text/plain\r\n\r\n"
            "This is an aggregate report.\r\n--b%d\r\nContent-Type: %s; name=\"%s\"\r\n"
            "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"%s\"\r\n\r\n%s--b%d--\r\n"
            % (org, org.replace(" ", "").lower(), domain, domain, org, n, n, rng.randrange(1 << 30), n, n, n, ctype,
               name, name, b64.replace("\n", "\r\n"), n))


def cmd_files(a):
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    total = messages = 0
    for n in range(a.reports):
        records = record_count(rng, a.records)
        total += records
        xml, org, domain, count = report_xml(rng, n, records)
        messages += count
        kind = rng.choice(["xml", "gz", "gz", "zip", "eml"])
        path = os.path.join(a.out, "r%06d" % n)
        if kind == "xml":
            open(path + ".xml", "wb").write(xml)
        elif kind == "gz":
            open(path + ".xml.gz", "wb").write(gzip.compress(xml, 6))
        elif kind == "zip":
            with zipfile.ZipFile(path + ".zip", "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr("r%06d.xml" % n, xml)
        else:
            open(path + ".eml", "wb").write(message(xml, org, domain, n, rng, rng.choice(["gz", "zip"])).encode())
    print("%d reports, %d records, %d messages in %s" % (a.reports, total, messages, a.out))


def cmd_mbox(a):
    rng = random.Random(a.seed)
    total = messages = 0
    with open(a.out, "w", newline="") as f:
        for n in range(a.reports):
            records = record_count(rng, a.records)
            total += records
            xml, org, domain, count = report_xml(rng, n, records)
            messages += count
            f.write("From dmarc@bench.example Mon Sep  1 00:00:00 2026\n")
            f.write(message(xml, org, domain, n, rng, rng.choice(["gz", "zip"])).replace("\r\n", "\n"))
            f.write("\n")
    print("%d reports, %d records, %d messages in %s" % (a.reports, total, messages, a.out))


def cmd_big(a):
    rng = random.Random(a.seed)
    domain = "example.com"
    head, _ = header(rng, 0, domain, False)
    out = gzip.open(a.out, "wb", 6) if a.out.endswith(".gz") else open(a.out, "wb")
    written, records = 0, 0
    out.write(head.encode())
    written += len(head)
    while written < a.bytes:
        chunk = "".join(record(rng, domain, False)[0] for _ in range(1000)).encode()
        out.write(chunk)
        written += len(chunk)
        records += 1000
    out.write(b"</feedback>\n")
    out.close()
    print("1 report, %d records, %d bytes of XML in %s" % (records, written, a.out))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("files", "mbox"):
        s = sub.add_parser(name)
        s.add_argument("out")
        s.add_argument("--reports", type=int, required=True)
        s.add_argument("--records", type=int, default=50, help="mean records per report")
        s.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("big")
    s.add_argument("out")
    s.add_argument("--bytes", type=size_arg, required=True)
    s.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    {"files": cmd_files, "mbox": cmd_mbox, "big": cmd_big}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
