#!/usr/bin/python3
"""Writes the aggregate reports of DMARC roll-out stories, one XML file per
reporter and day, for `mailsec report ingest` (tests/advise/advise.sh).

    story.py OUTDIR [NOW [DOMAIN]]

With DOMAIN, only the "ready" story (a month of monitoring, every
legitimate source aligned) is written, for DOMAIN (tests/advise/publish.sh).
Dates count back from NOW (Unix seconds, default: the current time): day 1
is the UTC day before NOW's, so the reports look as receivers send them.
Each story is one domain under advisetest.example; the DNS test bed
publishes the record each story ends with (tests/dnsbed/zones/
advisetest.example.zone), and reverse DNS for the senders
(0.18.198.in-addr.arpa.zone).

Senders (198.18.0.0/24):
  .10  the domain's own server: SPF and DKIM aligned
  .20  a newsletter service: aligned (DKIM d=DOMAIN) or, in the stories
       that say so, signing with its own domain (authenticated, unaligned)
  .21  the same service's second server (the step-back story)
  .30  a forwarder: nothing passes, receivers mark it forwarded
  .40  a spoofer: nothing passes, no reverse DNS
  .50  a CRM service that starts late, unaligned (the blocked story)
"""
import os
import sys
import time

DAY = 86400
REPORTERS = [("google.com", "noreply-dmarc-support@google.com"),
             ("Yahoo", "dmarchelp@yahooinc.com"),
             ("Enterprise Outlook", "dmarcreport@microsoft.com")]
SMALL = [("mx.smallisp.example", "dmarc@smallisp.example")]


def policy_xml(domain, p, pct=None, t=None):
    xml = "<domain>%s</domain><adkim>r</adkim><aspf>r</aspf><p>%s</p>" % (domain, p)
    if pct is not None:
        xml += "<pct>%d</pct>" % pct
    if t is not None:
        xml += "<testing>%s</testing>" % t
    return xml


def record(ip, count, disposition, dkim, spf, header_from, auth, reason=None):
    reason_xml = "<reason><type>%s</type></reason>" % reason if reason else ""
    auth_xml = ""
    for kind, dom, result in auth:
        if kind == "dkim":
            auth_xml += "<dkim><domain>%s</domain><selector>s1</selector><result>%s</result></dkim>" % (dom, result)
        else:
            auth_xml += "<spf><domain>%s</domain><scope>mfrom</scope><result>%s</result></spf>" % (dom, result)
    return ("<record><row><source_ip>%s</source_ip><count>%d</count><policy_evaluated>"
            "<disposition>%s</disposition><dkim>%s</dkim><spf>%s</spf>%s</policy_evaluated></row>"
            "<identifiers><header_from>%s</header_from></identifiers><auth_results>%s</auth_results></record>"
            % (ip, count, disposition, dkim, spf, reason_xml, header_from, auth_xml))


# The kinds of traffic, each as a function of the domain and the
# disposition receivers applied to failing mail.
def own(d, failing_disp, n=200):
    return record("198.18.0.10", n, "none", "pass", "pass", d,
                  [("dkim", d, "pass"), ("spf", d, "pass")])


def newsletter_aligned(d, failing_disp, n=60, ip="198.18.0.20"):
    return record(ip, n, "none", "pass", "fail", d,
                  [("dkim", d, "pass"), ("spf", "bounce.newsletter.example", "pass")])


def newsletter_unaligned(d, failing_disp, n=60, ip="198.18.0.20", header_from=None):
    return record(ip, n, failing_disp, "fail", "fail", header_from or d,
                  [("dkim", "newsletter.example", "pass"), ("spf", "bounce.newsletter.example", "pass")])


def forwarder(d, failing_disp, n=8):
    return record("198.18.0.30", n, failing_disp, "fail", "fail", d,
                  [("dkim", d, "fail"), ("spf", "forwarder.example", "softfail")], reason="forwarded")


def spoofer(d, failing_disp, n=15):
    return record("198.18.0.40", n, failing_disp, "fail", "fail", d, [("spf", d, "fail")])


def crm(d, failing_disp, n=40):
    return record("198.18.0.50", n, failing_disp, "fail", "fail", d,
                  [("dkim", "crmservice.example", "pass"), ("spf", "crmservice.example", "pass")])


def subdomain_newsletter(d, failing_disp):
    return newsletter_unaligned(d, failing_disp, n=30, header_from="news." + d)


# A story: the domain, then (first day back, last day back, policy, the
# disposition of failing mail, traffic, reporters), oldest first.
NONE = ("none",)
Q5 = ("quarantine", 5, "y")
Q10 = ("quarantine", 10, "y")
QALL = ("quarantine",)
R50_NO_T = ("reject", 50)
RALL = ("reject",)
CLEAN = [own, newsletter_aligned, forwarder, spoofer]

STORIES = {
    "ready.advisetest.example": [(30, 1, NONE, "none", CLEAN, REPORTERS)],
    "blocked.advisetest.example": [
        (30, 6, NONE, "none", [own, newsletter_unaligned, subdomain_newsletter, forwarder, spoofer], REPORTERS),
        (5, 1, NONE, "none", [own, newsletter_unaligned, subdomain_newsletter, forwarder, spoofer, crm], REPORTERS)],
    "young.advisetest.example": [(3, 1, NONE, "none", [own], SMALL)],
    "stepback.advisetest.example": [
        (40, 21, NONE, "none", CLEAN, REPORTERS),
        (20, 6, Q5, "none", CLEAN, REPORTERS),
        (5, 1, Q10, "quarantine",
         [own, lambda d, disp: newsletter_unaligned(d, disp, n=60, ip="198.18.0.21"), forwarder, spoofer],
         REPORTERS)],
    "offplan.advisetest.example": [
        (30, 11, NONE, "none", CLEAN, REPORTERS),
        (10, 1, R50_NO_T, "reject", CLEAN, REPORTERS)],
    "done.advisetest.example": [
        (60, 41, NONE, "none", CLEAN, REPORTERS),
        (40, 21, QALL, "quarantine", CLEAN, REPORTERS),
        (20, 1, RALL, "reject", CLEAN, REPORTERS)],
    "nodmarc.advisetest.example": [(10, 1, NONE, "none", [own, spoofer], REPORTERS)],
}


def write_story(outdir, domain, periods, today):
    for first, last, policy, disp, traffic, reporters in periods:
        for back in range(first, last - 1, -1):
            begin = today - back * DAY
            for org, email in reporters:
                rid = "%s-%s-%d" % (org.split()[0].lower(), domain.split(".")[0], begin)
                body = "".join(kind(domain, disp) for kind in traffic)
                xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<feedback><version>1.0</version>'
                       "<report_metadata><org_name>%s</org_name><email>%s</email><report_id>%s</report_id>"
                       "<date_range><begin>%d</begin><end>%d</end></date_range></report_metadata>"
                       "<policy_published>%s</policy_published>%s</feedback>\n"
                       % (org, email, rid, begin, begin + DAY - 1, policy_xml(domain, *policy), body))
                with open(os.path.join(outdir, rid + ".xml"), "w") as f:
                    f.write(xml)


def main():
    outdir = sys.argv[1]
    now = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else int(time.time())
    today = now - now % DAY
    os.makedirs(outdir, exist_ok=True)
    if len(sys.argv) > 3:
        write_story(outdir, sys.argv[3], STORIES["ready.advisetest.example"], today)
        return
    for domain, periods in STORIES.items():
        write_story(outdir, domain, periods, today)


if __name__ == "__main__":
    main()
