/* Every diagnostic the DMARC record code can emit. docs/diagnostics.md
 * lists the same codes with an example each; a unit test keeps the two in
 * step, and another checks that tests/data/dmarc/records.txt produces
 * every one of them. */
#include "internal.h"

#define E MS_SEV_ERROR
#define W MS_SEV_WARNING
#define I MS_SEV_INFO

const ms_diag_def ms_dmarc_diag_defs[DM_COUNT + 1] = {
    [DM_EMPTY] = {"dmarc.empty", E, "The record is empty.",
        "Publish \"v=DMARC1; p=none; rua=mailto:ADDRESS\" and tighten the policy from there."},
    [DM_LEADING_SPACE] = {"dmarc.leading-space", E,
        "The record starts with white space; receivers look for \"v=DMARC1\" at the very start "
        "and will not recognise it.",
        "Remove the white space before \"v=DMARC1\"."},
    [DM_SPF_RECORD] = {"dmarc.spf-record", E,
        "This is an SPF record, not a DMARC record.",
        "Publish SPF records at the domain itself, not at _dmarc; the _dmarc name needs a "
        "record starting with \"v=DMARC1\"."},
    [DM_VERSION_MISSING] = {"dmarc.version-missing", E,
        "There is no v=DMARC1 tag; receivers ignore the whole record.",
        "Start the record with \"v=DMARC1;\"."},
    [DM_VERSION_NOT_FIRST] = {"dmarc.version-not-first", E,
        "v=DMARC1 is not the first tag; receivers ignore the whole record.",
        "Move \"v=DMARC1\" to the very start of the record."},
    [DM_VERSION_INVALID] = {"dmarc.version-invalid", E,
        "The v tag's value is not exactly \"DMARC1\" (it is case-sensitive); receivers ignore "
        "the whole record.",
        "Write \"v=DMARC1\" in upper case, followed by \";\" before the next tag."},
    [DM_TAG_MISSING_EQUALS] = {"dmarc.tag-missing-equals", E,
        "A tag has no \"=\"; receivers skip it.",
        "Write each tag as name=value and separate tags with \";\"."},
    [DM_TAG_NAME_EMPTY] = {"dmarc.tag-name-empty", E,
        "A value has no tag name before \"=\"; receivers skip it.",
        "Put the tag name before \"=\" or remove the stray value."},
    [DM_TAG_NAME_INVALID] = {"dmarc.tag-name-invalid", E,
        "A tag name contains characters other than letters; receivers skip the tag.",
        "Tag names are letters only (p, sp, rua, ...); fix the spelling or the separators."},
    [DM_VALUE_EMPTY] = {"dmarc.value-empty", E,
        "A tag has an empty value; receivers skip it.",
        "Give the tag a value or remove it."},
    [DM_VALUE_BAD_CHAR] = {"dmarc.value-bad-char", E,
        "A value contains a byte that is not printable ASCII (control character, NUL, tab or "
        "non-ASCII); receivers skip the tag.",
        "Retype the value with plain ASCII; percent-encode non-ASCII in URIs and use A-labels "
        "(xn--) for domain names."},
    [DM_EMPTY_TAG] = {"dmarc.empty-tag", W,
        "There are two \";\" in a row; the grammar does not allow an empty tag, though most "
        "receivers skip it.",
        "Remove the extra \";\"."},
    [DM_DUPLICATE_TAG] = {"dmarc.duplicate-tag", E,
        "A tag appears more than once; receivers disagree on which one applies and some "
        "ignore the record.",
        "Keep one occurrence of each tag."},
    [DM_UNKNOWN_TAG] = {"dmarc.unknown-tag", W,
        "A tag that DMARC does not define; receivers ignore it (RFC 9989 section 4.7).",
        "Check the spelling; remove tags that DMARC does not define."},
    [DM_P_NOT_SECOND] = {"dmarc.p-not-second", I,
        "p is not the tag right after v; RFC 9989 allows any order but RFC 7489's grammar put "
        "p second and some old parsers still expect it there.",
        "Put p right after v=DMARC1 to satisfy strict RFC 7489 parsers."},
    [DM_P_MISSING] = {"dmarc.p-missing", W,
        "There is no p tag; since the record has a valid rua, receivers treat it as p=none "
        "(RFC 9989 section 4.10.1).",
        "Add p=none explicitly, or the policy you mean."},
    [DM_P_MISSING_NO_RUA] = {"dmarc.p-missing-no-rua", E,
        "There is no p tag and no valid rua; receivers apply no DMARC processing to this record "
        "(RFC 9989 section 4.10.1).",
        "Add a policy (start with p=none) and a rua address for aggregate reports."},
    [DM_P_INVALID] = {"dmarc.p-invalid", E,
        "p is not none, quarantine or reject; receivers treat the record as p=none when it has "
        "a valid rua and ignore it otherwise.",
        "Use p=none, p=quarantine or p=reject."},
    [DM_SP_INVALID] = {"dmarc.sp-invalid", E,
        "sp is not none, quarantine or reject; receivers treat the record as p=none when it "
        "has a valid rua and ignore it otherwise.",
        "Use sp=none, sp=quarantine or sp=reject, or remove sp so subdomains follow p."},
    [DM_NP_INVALID] = {"dmarc.np-invalid", E,
        "np is not none, quarantine or reject; receivers treat the record as p=none when it "
        "has a valid rua and ignore it otherwise.",
        "Use np=none, np=quarantine or np=reject, or remove np."},
    [DM_P_NONE] = {"dmarc.p-none", I,
        "p=none: monitoring only; failing mail is delivered as if there were no DMARC record, "
        "so the domain is not protected against spoofing.",
        "Once aggregate reports show that all legitimate mail passes, move to quarantine and "
        "then reject (see `mailsec dmarc plan`)."},
    [DM_SP_WEAKER] = {"dmarc.sp-weaker", I,
        "sp is weaker than p: failing mail from subdomains is treated more leniently than mail "
        "from the domain itself.",
        "Fine while subdomains are being brought into line; otherwise set sp to p's value or "
        "remove it."},
    [DM_NP_WEAKER] = {"dmarc.np-weaker", I,
        "np is weaker than the policy for existing subdomains: mail from names that do not "
        "even exist is treated more leniently.",
        "Non-existent subdomains never send legitimate mail; np=reject is usually right."},
    [DM_NP_RFC9989] = {"dmarc.np-rfc9989", I,
        "np is defined by RFC 9989 (and RFC 9091); RFC 7489 receivers ignore it and apply sp "
        "or p to non-existent subdomains.",
        NULL},
    [DM_ADKIM_INVALID] = {"dmarc.adkim-invalid", E,
        "adkim is not r or s; receivers use the default, relaxed.",
        "Use adkim=r (relaxed) or adkim=s (strict), or remove it."},
    [DM_ASPF_INVALID] = {"dmarc.aspf-invalid", E,
        "aspf is not r or s; receivers use the default, relaxed.",
        "Use aspf=r (relaxed) or aspf=s (strict), or remove it."},
    [DM_T_INVALID] = {"dmarc.t-invalid", E,
        "t is not y or n; receivers use the default, n (apply the policy as written).",
        "Use t=y for testing mode or remove t."},
    [DM_TESTING] = {"dmarc.testing", I,
        "t=y: testing mode. RFC 9989 receivers apply the next weaker policy (reject becomes "
        "quarantine, quarantine becomes none); RFC 7489 receivers do not know t.",
        "Remove t=y once reports show that legitimate mail passes."},
    [DM_T_WITHOUT_PCT] = {"dmarc.t-without-pct", W,
        "t=y without pct: RFC 7489 receivers ignore t and apply the full policy to all "
        "failing mail, while RFC 9989 receivers apply the next weaker one.",
        "To test with both generations, add pct (e.g. pct=0 or a small percentage) alongside "
        "t=y."},
    [DM_PSD_INVALID] = {"dmarc.psd-invalid", E,
        "psd is not y, n or u; receivers use the default, u.",
        "Use psd=n for an organizational domain, or remove psd."},
    [DM_PSD_Y] = {"dmarc.psd-y", I,
        "psd=y declares a public suffix domain (a TLD or registry zone). Published by an "
        "ordinary domain, it makes each subdomain its own organizational domain, which "
        "breaks relaxed alignment between them.",
        "Only public suffix operators publish psd=y; ordinary domains omit psd or use psd=n."},
    [DM_PCT_INVALID] = {"dmarc.pct-invalid", E,
        "pct is not an integer from 0 to 100; RFC 7489 receivers use the default, 100.",
        "Use an integer from 0 to 100, or remove pct (RFC 9989 removed it)."},
    [DM_PCT_REMOVED] = {"dmarc.pct-removed", I,
        "pct was removed by RFC 9989. RFC 7489 receivers apply the policy to pct% of failing "
        "mail and the next weaker policy to the rest (quarantine becomes none, reject becomes "
        "quarantine); RFC 9989 receivers ignore pct and use t=y for testing instead.",
        "For a partial roll-out publish pct together with t=y; drop both at full enforcement."},
    [DM_PCT_WITHOUT_T] = {"dmarc.pct-without-t", W,
        "pct below 100 without t: RFC 9989 receivers ignore pct and apply the full policy to "
        "all failing mail.",
        "Add t=y so RFC 9989 receivers apply the next weaker policy while the roll-out is "
        "partial."},
    [DM_PCT_T_CONFLICT] = {"dmarc.pct-t-conflict", W,
        "pct and t disagree: the two receiver generations will treat failing mail "
        "differently than intended (pct=100 with t=y, or pct below 100 with t=n).",
        "Use pct below 100 with t=y while testing, and neither tag at full enforcement."},
    [DM_FO_INVALID] = {"dmarc.fo-invalid", E,
        "fo is not a colon-separated list of 0, 1, d and s (0 and 1 exclusive, each at most "
        "once); receivers use the default, 0.",
        "Use e.g. fo=0, fo=1 or fo=1:d:s."},
    [DM_FO_WITHOUT_RUF] = {"dmarc.fo-without-ruf", I,
        "fo has no effect without ruf: receivers ignore it.",
        "Remove fo, or add ruf if you really want failure reports."},
    [DM_RF_INVALID] = {"dmarc.rf-invalid", W,
        "rf names a report format other than afrf, the only registered one.",
        "Remove rf (RFC 9989 removed it)."},
    [DM_RF_REMOVED] = {"dmarc.rf-removed", W,
        "rf was removed by RFC 9989; it chose the failure report format, and afrf (the default) "
        "was the only format ever registered. Receivers ignore it.",
        "Remove rf."},
    [DM_RI_INVALID] = {"dmarc.ri-invalid", W,
        "ri is not an unsigned 32-bit integer of seconds.",
        "Remove ri (RFC 9989 removed it)."},
    [DM_RI_REMOVED] = {"dmarc.ri-removed", W,
        "ri was removed by RFC 9989; it asked for an aggregate report interval in seconds, "
        "which receivers mostly ignored (they send daily).",
        "Remove ri."},
    [DM_RUA_MISSING] = {"dmarc.rua-missing", W,
        "There is no rua: no aggregate reports will be sent, so you cannot see who sends mail "
        "as the domain or whether it passes.",
        "Add rua=mailto:ADDRESS with a mailbox (or service) that processes aggregate reports."},
    [DM_RUF_PRESENT] = {"dmarc.ruf-present", I,
        "ruf asks for failure reports. Many receivers never send them, and those that do may "
        "include message content and personal data.",
        "Keep ruf only if you have a lawful basis and a process for handling failure reports."},
    [DM_URI_INVALID] = {"dmarc.uri-invalid", E,
        "A rua/ruf entry is not a valid URI; receivers skip it.",
        "Write each destination as mailto:ADDRESS, separated by \",\"; percent-encode \",\" "
        "and \"!\" inside a URI."},
    [DM_URI_NOT_MAILTO] = {"dmarc.uri-not-mailto", W,
        "A report URI is not mailto; RFC 9989 only requires receivers to support mailto and "
        "they ignore schemes they do not support.",
        "Use mailto: URIs."},
    [DM_MAILTO_INVALID] = {"dmarc.mailto-invalid", E,
        "A mailto URI does not hold a usable address (local part, \"@\", and a domain name); "
        "receivers cannot send reports there.",
        "Write mailto:local@domain.example with the domain in A-label form."},
    [DM_URI_SIZE_INVALID] = {"dmarc.uri-size-invalid", E,
        "Text after \"!\" in a URI is not a size (digits and an optional k, m, g or t) or "
        "overflows 64 bits; a \"!\" inside an address must be written %21.",
        "Percent-encode \"!\" as %21, or remove the size suffix (RFC 9989 made it obsolete)."},
    [DM_URI_SIZE_OBSOLETE] = {"dmarc.uri-size-obsolete", I,
        "A !size suffix limits report size; RFC 9989 made it obsolete and its receivers ignore "
        "it, while RFC 7489 receivers may skip reports larger than the limit.",
        "Remove the size suffix unless the mailbox truly cannot take larger messages."},
    [DM_TOO_MANY_URIS] = {"dmarc.too-many-uris", W,
        "More than two URIs in rua or ruf; receivers need only send to two (RFC 7489 section "
        "6.2), so later ones may get nothing.",
        "List at most two destinations; forward reports onwards from one mailbox if more "
        "parties need them."},
    [DM_GEN_DOMAIN] = {"dmarc.generate-domain", E,
        "No domain, or not a valid domain name, was given for the record.",
        "Give the domain the record is for, e.g. example.com."},
    [DM_GEN_POLICY] = {"dmarc.generate-policy", E,
        "No policy, or an invalid one, was given for the record.",
        "Choose p: none to start monitoring, then quarantine, then reject."},
    [DM_GEN_VALUE] = {"dmarc.generate-value", E,
        "A value given for the record is out of range or makes no sense with the others.",
        "Fix the value named in the message."},
    [DM_GEN_URI] = {"dmarc.generate-uri", E,
        "A report destination given for the record is not valid, or there are more than two.",
        "Give at most two mailto: URIs (or plain addresses) per report type."},
    [DM_PLAN_RUA_MISSING] = {"dmarc.plan-rua-missing", E,
        "A roll-out plan needs an aggregate report address: without reports you cannot tell "
        "when it is safe to tighten the policy.",
        "Give a rua address (a mailbox or a DMARC report service)."},
    [DM_COUNT] = {NULL, I, NULL, NULL},
};
