#!/usr/bin/env python3
"""Builds the walk's test inputs (tests/unit/report_walk) from the reports
committed beside this script: archives, messages, mailboxes, a Maildir and
hostile files, written by Python's own gzip, zipfile, email and mailbox
modules (an implementation independent of ours), so the repository holds
no binaries. Usage: make-fixtures.py OUTDIR"""
import gzip
import hashlib
import io
import mailbox
import os
import shutil
import sys
import zipfile
import zlib
from email.message import EmailMessage
from email.policy import default as policy

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1]


def read(name):
    with open(os.path.join(HERE, name), "rb") as f:
        return f.read()


def write(name, data):
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def gz(data, name):
    """gzip with FNAME set to name, as gzip(1) and most receivers write it."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", fileobj=buf, mtime=0) as f:
        f.write(data)
    return buf.getvalue()


def zipped(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            if name.endswith("/"):
                z.writestr(zipfile.ZipInfo(name), b"")
            else:
                z.writestr(name, data)
    return buf.getvalue()


def message(msgid, subject, greeting=None):
    m = EmailMessage(policy=policy)
    m["From"] = "noreply-dmarc-support@receiver.example"
    m["To"] = "dmarc-reports@example.com"
    m["Subject"] = subject
    m["Date"] = "Fri, 27 Nov 2026 10:00:00 +0000"
    if msgid:
        m["Message-ID"] = msgid
    if greeting is not None:
        m.set_content(greeting)
    return m


AGG = read("aggregate.xml")
AGG2 = read("aggregate-2.xml")
TLS = read("tlsrpt.json")
FAILURE = read("failure.eml")

os.makedirs(OUT, exist_ok=True)
write("report.xml", AGG)
write("report.xml.gz", gz(AGG, "report.xml"))
write("two.zip", zipped([("sub/", b""), ("a.xml", AGG), ("sub/b.xml", AGG2), ("readme.txt", b"Reports inside.\n")]))
write("tlsrpt.json", TLS)
write("tlsrpt.json.gz", gz(TLS, "tlsrpt.json"))
write("failure.eml", FAILURE)
write("not-a-report.txt", read("not-a-report.txt"))

# A receiver's usual message: a greeting and a base64 gzip attachment.
b64gz = message("<agg-1@receiver.example>", "Report Domain: example.com", "Here is your DMARC report.\n")
b64gz.add_attachment(gz(AGG, "report.xml"), maintype="application", subtype="gzip", filename="report.xml.gz")
write("base64-gzip.eml", bytes(b64gz))

# A message inside a zip (spooled before GMime parses it).
write("message.zip", zipped([("report.eml", bytes(b64gz))]))

# The report as the message body itself, quoted-printable.
inline = message("<inline-2@receiver.example>", "Report Domain: example.org")
inline.set_content(AGG2.decode(), subtype="xml", cte="quoted-printable")
write("inline.eml", bytes(inline))

# A zip labelled application/octet-stream, after a text + HTML greeting.
octet = message("<zip-3@receiver.example>", "Report Domain: example.com", "Report attached.\n")
octet.add_alternative("<html><body><p>Report attached.</p></body></html>", subtype="html")
octet.add_attachment(zipped([("report.xml", AGG)]), maintype="application", subtype="octet-stream",
                     filename="report.zip")
write("octet-zip.eml", bytes(octet))

# A forward: the receiver's message attached as message/rfc822.
fwd = message("<forward-4@example.com>", "Fwd: Report Domain: example.com", "Forwarding the report below.\n")
fwd.add_attachment(b64gz)
write("nested.eml", bytes(fwd))

# A failure report forwarded as an attachment, beside an aggregate report.
from email import message_from_bytes
fwd_failure = message("<forward-8@example.com>", "Fwd: failure report", "Two reports attached.\n")
fwd_failure.add_attachment(message_from_bytes(FAILURE, policy=policy))
fwd_failure.add_attachment(gz(AGG, "report.xml"), maintype="application", subtype="gzip", filename="report.xml.gz")
write("forwarded-failure.eml", bytes(fwd_failure))

# RFC 8460 section 5.3: multipart/report; report-type=tlsrpt with the
# report as application/tlsrpt+gzip.
tlsmsg = message("<tlsrpt-5@company-x.example>", "Report Domain: company-y.example")
tlsmsg.set_content("This is an aggregate TLS report from company-x.example\n")
tlsmsg.add_attachment(gz(TLS, "report.json"), maintype="application", subtype="tlsrpt+gzip",
                      filename="company-x.example!company-y.example!1459468800!1459555199.json.gz")
tlsmsg.set_type("multipart/report")
tlsmsg.set_param("report-type", "tlsrpt")
write("tlsrpt.eml", bytes(tlsmsg))

# No Message-ID: the key is the SHA-256 of the message's bytes.
nomsgid = message(None, "Report without a Message-ID")
nomsgid.set_content(AGG.decode(), subtype="xml")
nomsgid_bytes = bytes(nomsgid)
write("nomsgid.eml", nomsgid_bytes)
write("nomsgid.eml.sha256", hashlib.sha256(nomsgid_bytes).hexdigest().encode())

# An mbox: three messages with reports and one without.
plain = message("<hello-6@example.com>", "Lunch?", "From the office: lunch at noon?\n")
if os.path.exists(os.path.join(OUT, "inbox.mbox")):
    os.unlink(os.path.join(OUT, "inbox.mbox"))
box = mailbox.mbox(os.path.join(OUT, "inbox.mbox"))
for m in (b64gz, octet, plain, tlsmsg):
    box.add(m)
box.close()
with open(os.path.join(OUT, "inbox.mbox"), "rb") as f:
    write("inbox.mbox.gz", gz(f.read(), "inbox.mbox"))

# A Maildir with a Maildir++ subfolder, a non-message file and a symbolic
# link back to the top (a loop if followed).
shutil.rmtree(os.path.join(OUT, "Maildir"), ignore_errors=True)
md = mailbox.Maildir(os.path.join(OUT, "Maildir"), create=True)
md.add(mailbox.MaildirMessage(bytes(b64gz)))
md.add(mailbox.MaildirMessage(FAILURE))
sub = md.add_folder("Reports")
sub.add(mailbox.MaildirMessage(bytes(tlsmsg)))
write("Maildir/dovecot-uidlist", b"3 V1764237600 N3\n")
os.symlink("..", os.path.join(OUT, "Maildir", "cur", "loop"))

# Damaged and hostile input.
big = b"".join(b"  <record><row><source_ip>192.0.2.%d</source_ip><count>%d</count></row></record>\n"
               % (i % 250, i * 7919 % 100003) for i in range(20000))
whole = gz(b"<?xml version=\"1.0\"?>\n<feedback>\n" + big + b"</feedback>\n", "truncated.xml")
write("truncated.xml.gz", whole[: len(whole) // 2])

BOMB_HEAD = b"<?xml version=\"1.0\"?>\n<feedback>\n"
BOMB_SIZE = 100 << 20


def bomb_chunks():
    yield BOMB_HEAD
    zeros = b" " * (1 << 20)
    for _ in range(BOMB_SIZE >> 20):
        yield zeros


comp = zlib.compressobj(9, zlib.DEFLATED, 31)
write("bomb.xml.gz", b"".join(comp.compress(c) for c in bomb_chunks()) + comp.flush())
with zipfile.ZipFile(os.path.join(OUT, "bomb.zip"), "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    with z.open("bomb.xml", "w") as f:
        for c in bomb_chunks():
            f.write(c)
    z.writestr("after.xml", AGG)

layers = AGG
for i in range(12):
    layers = gz(layers, "layer%d" % i)
write("nest.gz", layers)

nest = b64gz
for i in range(12):
    outer = message("<nest-%d@example.com>" % i, "Fwd", "Forwarded.\n")
    outer.add_attachment(nest)
    nest = outer
write("nest.eml", bytes(nest))

# More entries than MS_REPORT_ZIP_ENTRIES_MAX (1000): the report is last.
write("many.zip", zipped([("note%04d.txt" % i, b"x\n") for i in range(1000)] + [("report.xml", AGG)]))

# Names that lie about the content.
write("gzip-named.zip", gz(AGG, "report.xml"))
write("zip-named.xml", zipped([("report.xml", AGG)]))
liar = message("<liar-7@receiver.example>", "Report", "Report attached.\n")
liar.add_attachment(gz(AGG, "report.xml"), maintype="text", subtype="xml", filename="report.xml")
write("liar.eml", bytes(liar))

# A zip cut short: the first entry whole, the second cut, no central
# directory. Read from the file (seekable) and from a pipe (streamed).
two = zipped([("a.xml", AGG), ("b.xml", AGG2)])
write("truncated.zip", two[: two.index(b"PK\x03\x04", 4) + 60])
write("truncated-early.zip", two[:40])


def encrypted(entries):
    """A zip whose entries say they are encrypted (general purpose flag
    bit 0, in the local and the central headers), as `zip -e` writes them;
    the bytes are not, which no reader can tell without the password."""
    data = bytearray(zipped(entries))
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(sig)
        while at >= 0:
            data[at + flag_at] |= 1
            at = data.find(sig, at + 4)
    return bytes(data)


write("encrypted.zip", encrypted([("report.xml", AGG)]))

# A failure report as some receivers send it: the message/feedback-report
# part inside multipart/mixed, not multipart/report; and one whose whole
# body is the message/feedback-report part.
FEEDBACK = (b"Feedback-Type: auth-failure\r\nUser-Agent: Receiver/2.0\r\nVersion: 1\r\n"
            b"Source-IP: 192.0.2.7\r\nArrival-Date: Fri, 27 Nov 2026 09:58:00 +0000\r\n"
            b"Reported-Domain: example.com\r\nAuth-Failure: dmarc\r\n")
mixed = message("<failure-mixed@receiver.example>", "DMARC failure report", "A message failed DMARC.\n")
mixed.add_attachment(FEEDBACK, maintype="message", subtype="feedback-report")
mixed.add_attachment(b"From: <ceo@example.com>\r\nSubject: Invoice\r\n\r\n", maintype="text",
                     subtype="rfc822-headers")
write("failure-mixed.eml", bytes(mixed))
write("failure-bare.eml",
      b"From: dmarc@receiver.example\r\nTo: ruf@example.com\r\nSubject: DMARC failure\r\n"
      b"Message-ID: <failure-bare@receiver.example>\r\nMIME-Version: 1.0\r\n"
      b"Content-Type: message/feedback-report\r\n\r\n" + FEEDBACK)
