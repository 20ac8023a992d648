#!/usr/bin/env python3
"""Writes the generated aggregate samples of this directory: one small
report per real-world breakage or hostile construct, byte-exact (some are
not UTF-8). The hand-written samples (rfc7489-outlook.xml, rfc9990.xml,
draft-dmarc-org.xml, prefixed-namespace.xml) are not touched.
Run from this directory: python3 make-samples.py"""


def rec(ip=b"192.0.2.1", count=b"5", disp=b"none", dkim=b"pass", spf=b"pass", reasons=b"",
        hf=b"example.com", auth=None):
    if auth is None:
        auth = (b"<dkim><domain>example.com</domain><selector>s1</selector><result>pass</result></dkim>"
                b"<spf><domain>example.com</domain><scope>mfrom</scope><result>pass</result></spf>")
    return (b"  <record>\n    <row><source_ip>" + ip + b"</source_ip><count>" + count + b"</count>\n"
            b"      <policy_evaluated><disposition>" + disp + b"</disposition><dkim>" + dkim +
            b"</dkim><spf>" + spf + b"</spf>" + reasons + b"</policy_evaluated></row>\n"
            b"    <identifiers><header_from>" + hf + b"</header_from></identifiers>\n"
            b"    <auth_results>" + auth + b"</auth_results>\n  </record>\n")


def report(org=b"Example Org", begin=b"1700006400", end=b"1700092800",
           decl=b'<?xml version="1.0" encoding="UTF-8"?>\n', records=None, policy=None,
           extra_meta=b"", after=b"", before_root=b"", root_open=b"<feedback>",
           root_close=b"</feedback>", meta_first=True):
    if policy is None:
        policy = (b"<policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf>"
                  b"<p>none</p><sp>none</sp><pct>100</pct></policy_published>\n")
    if records is None:
        records = [rec()]
    meta = (b"  <report_metadata>\n    <org_name>" + org + b"</org_name>\n"
            b"    <email>dmarc@reporter.example</email>\n" + extra_meta +
            b"    <report_id>r-1</report_id>\n    <date_range><begin>" + begin + b"</begin><end>" +
            end + b"</end></date_range>\n  </report_metadata>\n")
    head = decl + before_root + root_open + b"\n  <version>1.0</version>\n"
    recs = b"".join(records)
    if meta_first:
        return head + meta + b"  " + policy + recs + root_close + after
    return head + recs + meta + b"  " + policy + root_close + after


def billion_laughs():
    ents = b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                    for i in range(1, 10))
    return (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' + ents + b"]>\n" +
            report(decl=b"", org=b"&lol9;"))


FILES = {
    # declared encodings: euro 0x80, e-acute 0xE9, right quote 0x92 in windows-1252
    "windows-1252.xml": report(org=b"Soci\xe9t\xe9 G\x80n\x92rale",
                               decl=b'<?xml version="1.0" encoding="windows-1252"?>\n'),
    "iso-8859-1.xml": report(org=b"M\xfcller Stra\xdfe", decl=b"<?xml version='1.0' encoding='ISO-8859-1'?>\n"),
    "iso-8859-15.xml": report(org=b"Prix \xa4 \xbd", decl=b'<?xml version="1.0" encoding="iso-8859-15"?>\n'),
    "utf-16le.xml": b"\xff\xfe" + report(org=b"Utf Sixteen",
                                         decl=b'<?xml version="1.0" encoding="UTF-16"?>\n').decode().encode("utf-16-le"),
    # a stray 0xFF, a truncated sequence, a lone continuation byte, a raw control character
    "invalid-utf8.xml": report(org=b"Bad \xff Bytes \xc3 and \x80 \x01here"),
    "float-timestamps.xml": report(begin=b"1700006400.0", end=b" 1700092799.999 "),
    "uppercase-enums.xml": report(
        policy=(b"<policy_published><domain>EXAMPLE.COM</domain><adkim>R</adkim><aspf>S</aspf><p>REJECT</p>"
                b"<sp>Quarantine</sp><pct>100</pct></policy_published>\n"),
        records=[rec(disp=b"Reject", dkim=b"FAIL", spf=b"Pass",
                     reasons=b"<reason><type>LOCAL_POLICY</type><comment>Mixed Case Kept</comment></reason>",
                     auth=(b"<dkim><domain>Example.com</domain><selector>S1</selector><result>PermError</result></dkim>"
                           b"<spf><domain>example.com</domain><scope>MFROM</scope><result>SoftFail</result></spf>"))]),
    "empty-elements.xml": report(
        extra_meta=b"    <extra_contact_info/>\n    <error></error>\n",
        policy=(b"<policy_published><domain>example.com</domain><adkim></adkim><aspf/><p>none</p><sp/><pct/>"
                b"<fo></fo></policy_published>\n"),
        records=[rec(reasons=(b"<reason></reason><reason><type></type><comment></comment></reason>"
                              b"<reason><type>other</type><comment/></reason>"),
                     auth=(b"<dkim/><dkim><domain>example.com</domain><selector/><result>pass</result>"
                           b"<human_result></human_result></dkim><spf><domain>example.com</domain><scope></scope>"
                           b"<result>pass</result></spf>"))]),
    "stray-schema.xml": report(
        root_open=b'<feedback>\n<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">'),
    "stray-schema-outside.xml": report(before_root=b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">\n'),
    "trailing-garbage.xml": report(after=b"\n\x00\x00garbage <not-xml & more\n--boundary--\n"),
    "second-document-after.xml": report(
        after=b'\n<?xml version="1.0"?><feedback><report_metadata></report_metadata></feedback>\n'),
    "zero-length-range.xml": report(begin=b"1700006400", end=b"1700006400"),
    "multi-day-range.xml": report(begin=b"1699574400", end=b"1700179199"),
    "bom-leading-whitespace.xml": b"\xef\xbb\xbf \r\n\t  " + report(),
    "records-first.xml": report(records=[rec(ip=b"192.0.2.1", count=b"1"), rec(ip=b"192.0.2.2", count=b"2")],
                                meta_first=False),
    "comments-cdata-pi.xml": report(org=b"<![CDATA[Org & <Co>]]>", before_root=b"<!-- generated -->\n<?pi data?>\n"),
    # hostile
    "hostile-doctype.xml": b'<?xml version="1.0"?>\n<!DOCTYPE feedback>\n' + report(decl=b""),
    "hostile-billion-laughs.xml": billion_laughs(),
    "hostile-external-entity.xml": (b'<?xml version="1.0"?>\n<!DOCTYPE feedback [<!ENTITY xxe SYSTEM '
                                    b'"file:///etc/passwd">]>\n' + report(decl=b"", org=b"&xxe;")),
    "hostile-undefined-entity.xml": report(org=b"&undefined;"),
    # broken
    "truncated.xml": report()[:-200],
    "not-feedback-root.xml": b'<?xml version="1.0"?>\n<html><body>not a report</body></html>\n',
    "missing-policy.xml": report(policy=b""),
    "bad-source-ip.xml": report(records=[rec(ip=b"999.1.2.3")]),
    "bad-timestamp.xml": report(begin=b"yesterday"),
}

if __name__ == "__main__":
    for name, data in FILES.items():
        with open(name, "wb") as f:
            f.write(data)
