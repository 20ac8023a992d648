#!/usr/bin/python3
"""Builds lib/roundcube/security.tsv, the Roundcube security fixes that
`mailsec roundcube audit` knows, from the CHANGELOG.md (CHANGELOG before
1.5) of release tarballs or unpacked release trees:

    scripts/roundcube-security.py roundcubemail-*.tar.gz > lib/roundcube/security.tsv

Give the newest release of every branch: each release's changelog lists its
own branch's history. Every "- Security: ..." line, every line with a CVE
id, and every "Fix ..." line that names a kind of vulnerability (XSS, RCE,
injection, SSRF, CSRF, a bypass, a disclosure; older releases wrote their
security fixes so) becomes one row: VERSION<TAB>CVE ids (comma-separated,
or "-")<TAB>the line. A fix written without a CVE id gets the id another
release's identical line gives it."""
import os
import re
import sys
import tarfile

HEADER = re.compile(r"^(?:## Release |RELEASE )(\S+)\s*$")
SECURITY = re.compile(r"^- Security: (.*?)\s*$")
ENTRY = re.compile(r"^- (.*?)\s*$")
VULNERABILITY = re.compile(
    r"\[CVE-|\bXSS\b|cross-site|vulnerab|\bRCE\b|remote code|injection|\bSSRF\b|\bCSRF\b|"
    r"bypass|disclosure|deserializ", re.I)
CVES = re.compile(r"\[((?:CVE-\d{4}-\d+(?:,\s*)?)+)\]")


def changelog_text(source):
    if os.path.isdir(source):
        for name in ("CHANGELOG.md", "CHANGELOG"):
            path = os.path.join(source, name)
            if os.path.exists(path):
                return open(path, encoding="utf-8", errors="replace").read(), source
        raise SystemExit(f"{source}: no CHANGELOG.md")
    with tarfile.open(source) as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if len(parts) == 2 and parts[1] in ("CHANGELOG.md", "CHANGELOG"):
                data = tar.extractfile(member).read().decode("utf-8", "replace")
                return data, parts[0]
    raise SystemExit(f"{source}: no CHANGELOG.md")


def own_version(text, tree_name):
    """The release a changelog's first lines belong to before any header
    (1.4's CHANGELOG): the tree's RCMAIL_VERSION, from its name."""
    m = re.search(r"(\d+\.\d+(?:\.\d+|-\w+)?)$", tree_name)
    return m.group(1) if m else None


def fixes(text, tree_name):
    version = own_version(text, tree_name)
    for line in text.splitlines():
        m = HEADER.match(line)
        if m:
            version = m.group(1)
            continue
        m = SECURITY.match(line)
        if m is None:
            m = ENTRY.match(line)
            if m is None or not VULNERABILITY.search(line):
                continue
            if "[CVE-" not in line and not m.group(1).startswith("Fix"):
                continue  # "Remove X-XSS-Protection example ...": not a fix
        if version:
            summary = m.group(1)
            cves = []
            c = CVES.search(summary)
            if c:
                cves = [x.strip() for x in c.group(1).split(",")]
            yield version, cves, summary


def normal(summary):
    summary = CVES.sub("", summary)
    summary = re.sub(r"\(#\d+(?:,\s*#\d+)*\)", "", summary)
    summary = re.sub(r"^Security:\s*", "", summary)
    return " ".join(summary.split()).rstrip(".")


def version_key(version):
    nums = [int(x) for x in re.findall(r"\d+", version.split("-")[0])]
    pre = 0 if "-" in version else 1
    return nums + [0] * (3 - len(nums)) + [pre]


def main():
    rows = {}
    for source in sys.argv[1:]:
        text, tree = changelog_text(source)
        for version, cves, summary in fixes(text, tree):
            key = (version, normal(summary))
            known = rows.setdefault(key, set())
            known.update(cves)
    by_summary = {}
    for (version, summary), cves in rows.items():
        by_summary.setdefault(summary, set()).update(cves)
    print("# Roundcube security fixes, one per line: RELEASE<TAB>CVE ids or -<TAB>summary.")
    print("# Made by scripts/roundcube-security.py from the releases' CHANGELOG.md files;")
    print("# docs/roundcube.md says how to update it.")
    for (version, summary) in sorted(rows, key=lambda k: (version_key(k[0]), k[1]), reverse=True):
        cves = rows[(version, summary)] or by_summary[summary]
        print(f"{version}\t{','.join(sorted(cves)) or '-'}\t{summary}")


if __name__ == "__main__":
    main()
