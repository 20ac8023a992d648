#!/usr/bin/python3
"""The reports of a gen_corpus.py `files` directory, every one as plain XML
and as gzip: the same bytes for tools that read only XML files
(dmarcts-report-parser -x) and for the gzip runs (expat_only, mailsec).

  unwrap.py SRC_DIR XML_DIR GZ_DIR [MANIFEST]

SRC_DIR holds .xml, .xml.gz, .zip and .eml (a MIME message with a gzip or
zip attachment) files. Writes XML_DIR/NAME.xml and GZ_DIR/NAME.xml.gz
(level 6, as the generator does) for each, and prints one key=value line:
reports, records (<record> elements), xml_bytes, gz_bytes. MANIFEST, if
given, gets one line per report: NAME.xml RECORDS.
"""
import email
import email.policy
import gzip
import io
import os
import sys
import zipfile


def xml_of_zip(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(z.namelist()[0])


def xml_of_message(data):
    msg = email.message_from_bytes(data, policy=email.policy.default)
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        if part.get_filename("").endswith(".gz"):
            return gzip.decompress(payload)
        return xml_of_zip(payload)
    raise ValueError("no attachment")


def xml_of(path):
    data = open(path, "rb").read()
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zip"):
        return xml_of_zip(data)
    if path.endswith(".eml"):
        return xml_of_message(data)
    return data


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    src, xml_dir, gz_dir = sys.argv[1:4]
    manifest = open(sys.argv[4], "w") if len(sys.argv) == 5 else None
    os.makedirs(xml_dir, exist_ok=True)
    os.makedirs(gz_dir, exist_ok=True)
    reports = records = xml_bytes = gz_bytes = 0
    for name in sorted(os.listdir(src)):
        try:
            xml = xml_of(os.path.join(src, name))
        except (ValueError, OSError, zipfile.BadZipFile) as e:
            sys.exit("unwrap.py: %s: %s" % (name, e))
        base = name.split(".")[0]
        open(os.path.join(xml_dir, base + ".xml"), "wb").write(xml)
        gz = gzip.compress(xml, 6)
        open(os.path.join(gz_dir, base + ".xml.gz"), "wb").write(gz)
        count = xml.count(b"<record>")
        if manifest:
            manifest.write("%s.xml %d\n" % (base, count))
        reports += 1
        records += count
        xml_bytes += len(xml)
        gz_bytes += len(gz)
    print("reports=%d records=%d xml_bytes=%d gz_bytes=%d" % (reports, records, xml_bytes, gz_bytes))


if __name__ == "__main__":
    main()
