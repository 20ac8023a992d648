#!/usr/bin/python3
"""mbox_handover_corpus.py: inputs for mbox-handover.sh.

  mbox_handover_corpus.py staged DIR
      One aggregate report cut in two (DIR/agg.head: its metadata and
      2,000 records; DIR/agg.tail: one record and the end), for the test
      to write into a named pipe with a pause between them; and DIR/tls.mbox,
      three messages each holding a TLS report, for another pipe.

  mbox_handover_corpus.py mixed DIR --seed S
      A directory of inputs for two readers: plain XML and gzip'd aggregate
      reports, TLS reports (JSON), a failure report (ARF), one mbox of
      aggregate and TLS reports, and one aggregate report far larger than
      the rest, so that one reader's walk ends long before the other's.
      The names put them in another order for every seed (the walk meets
      files in name order and gives them to the readers in turn).

Both print "REPORTS RECORDS": the reports and aggregate records that a
first ingest must store, each once."""
import argparse
import gzip
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../bench/report"))
import gen_corpus  # noqa: E402
import mbox_share_corpus  # noqa: E402

FROM_LINE = "From dmarc@handover.example Mon Sep  1 00:00:00 2026\n"


def tls_report(n):
    return mbox_share_corpus.TLSRPT.replace("share-tls-1", "handover-tls-%d" % n).encode()


def tls_message(n):
    return mbox_share_corpus.with_attachment("tls %d" % n, "A TLS report.", "application/tlsrpt+json",
                                             "t%d.json" % n, tls_report(n), 7000 + n)


def arf(n):
    return mbox_share_corpus.ARF.replace("share-failure-1", "handover-failure-%d" % n)


def write_mbox(path, texts):
    with open(path, "w", newline="") as f:
        for text in texts:
            f.write(FROM_LINE + text + "\n")


def padded(rng, xml, size):
    """The report with XML comments of about size bytes in all between its
    records: words from a small vocabulary, which gzip shrinks about three
    times (within the walk's bound on the ratio)."""
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
    text = " ".join(rng.choice(words) + str(rng.randrange(100)) for _ in range(20000)).encode()
    parts = xml.split(b"<record>")
    each = min(size // len(parts), len(text) // 2)
    out = [parts[0]]
    for part in parts[1:]:
        at = rng.randrange(len(text) - each)
        out.append(b"<!-- " + text[at:at + each] + b" -->\n<record>" + part)
    return b"".join(out)


def records_of(xml):
    return xml.count(b"<record>")


def cmd_staged(a):
    rng = random.Random(7)
    os.makedirs(a.dir, exist_ok=True)
    xml, _, _, _ = gen_corpus.report_xml(rng, 1, 2001)
    cut = xml.rindex(b"<record>")  # the last record and the end come later
    open(os.path.join(a.dir, "agg.head"), "wb").write(xml[:cut])
    open(os.path.join(a.dir, "agg.tail"), "wb").write(xml[cut:])
    write_mbox(os.path.join(a.dir, "tls.mbox"), [tls_message(n) for n in range(3)])
    print(1 + 3, records_of(xml))


def cmd_mixed(a):
    rng = random.Random(a.seed)
    os.makedirs(a.dir, exist_ok=True)
    inputs = []  # (name, bytes)
    reports = records = 0
    n = 0
    for _ in range(rng.randrange(4, 12)):  # plain and gzip'd aggregate reports
        xml, _, _, _ = gen_corpus.report_xml(rng, 1000 * a.seed + n, gen_corpus.record_count(rng, 30))
        gz = rng.random() < 0.5
        inputs.append(("agg%d.xml%s" % (n, ".gz" if gz else ""), gzip.compress(xml, 1) if gz else xml))
        reports, records, n = reports + 1, records + records_of(xml), n + 1
    for t in range(rng.randrange(1, 5)):  # TLS reports: the writer stores them on a reader's call
        inputs.append(("tls%d.json" % t, tls_report(1000 * a.seed + t)))
        reports += 1
    inputs.append(("arf.eml", arf(a.seed).encode()))
    reports += 1
    texts = []
    for m in range(rng.randrange(20, 60)):  # the mbox the readers share
        if rng.random() < 0.1:
            texts.append(tls_message(1000 * a.seed + 500 + m))
        else:
            xml, org, domain, _ = gen_corpus.report_xml(rng, 1000 * a.seed + n, gen_corpus.record_count(rng, 20))
            texts.append(gen_corpus.message(xml, org, domain, n, rng, "gz").replace("\r\n", "\n"))
            records, n = records + records_of(xml), n + 1
        reports += 1
    mbox = os.path.join(a.dir, "shared.mbox.tmp")
    write_mbox(mbox, texts)
    inputs.append(("shared.mbox", open(mbox, "rb").read()))
    os.unlink(mbox)
    # Three large ones, gzip'd, their records between XML comments: a
    # reader decompresses and parses one for long while the writer, which
    # keeps the gzip stream as it came, soon has nothing of it to store.
    # They are the last files but one, two and three, and a TLS report the
    # last: one reader reads the first and the third, and its walk ends
    # there; the other reads the second, which the writer stores while the
    # first reader is still on its first, and then the TLS report, whose
    # storing waits for the writer while the writer stores the third.
    rng.shuffle(inputs)
    for big, mib in enumerate([rng.randrange(1, 4), rng.randrange(2, 6), rng.randrange(2, 10)]):
        xml, _, _, _ = gen_corpus.report_xml(rng, 1000 * a.seed + n, rng.randrange(500, 2000))
        inputs.append(("big%d.xml.gz" % big, gzip.compress(padded(rng, xml, mib << 20), 1)))
        reports, records, n = reports + 1, records + records_of(xml), n + 1
    inputs.append(("tls-last.json", tls_report(1000 * a.seed + 999)))
    reports += 1
    for i, (name, data) in enumerate(inputs):
        open(os.path.join(a.dir, "%02d-%s" % (i, name)), "wb").write(data)
    print(reports, records)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("staged")
    s.add_argument("dir")
    s = sub.add_parser("mixed")
    s.add_argument("dir")
    s.add_argument("--seed", type=int, required=True)
    a = p.parse_args()
    {"staged": cmd_staged, "mixed": cmd_mixed}[a.cmd](a)


if __name__ == "__main__":
    main()
