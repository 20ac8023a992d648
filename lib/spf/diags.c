/* Every diagnostic the SPF code can emit. docs/diagnostics.md lists the
 * same codes with an example each (tests/cli/catalogue.sh keeps the two in
 * step and checks each code appears in a test). */
#include "internal.h"

#define E MS_SEV_ERROR
#define W MS_SEV_WARNING
#define I MS_SEV_INFO

const ms_diag_def ms_spf_diag_defs[SPF_D_COUNT + 1] = {
    [SPF_D_SYNTAX] = {"spf.syntax", E,
        "A term is not valid SPF syntax; receivers return permerror for the whole record.",
        "Fix the term at the position shown (RFC 7208 section 12 has the grammar)."},
    [SPF_D_UNKNOWN_MECH] = {"spf.unknown-mechanism", E,
        "A mechanism name is not one of all, include, a, mx, ptr, ip4, ip6, exists; receivers "
        "return permerror.",
        "Check the spelling; modifiers are written name=value, mechanisms name:value."},
    [SPF_D_BAD_CHAR] = {"spf.bad-character", E,
        "The record holds a character SPF does not allow (non-ASCII, a control character, or "
        "white space other than a space); receivers return permerror.",
        "Retype the record in plain ASCII, terms separated by single spaces."},
    [SPF_D_BAD_CIDR] = {"spf.bad-cidr", E,
        "A prefix length is out of range (ip4 0-32, ip6 0-128), has a leading zero or is not "
        "a number; receivers return permerror.",
        "Write /N with N in range and without leading zeros, e.g. ip4:192.0.2.0/24."},
    [SPF_D_BAD_IP] = {"spf.bad-ip", E,
        "An ip4/ip6 address is not valid; receivers return permerror.",
        "Write ip4 as four decimal numbers 0-255 and ip6 in RFC 4291 text form."},
    [SPF_D_BAD_DOMAIN_SPEC] = {"spf.bad-domain-spec", E,
        "A domain argument is not a valid domain-spec (it must end in a dot and a top label "
        "that is not all digits, or in a macro); receivers return permerror.",
        "Write a full domain name, e.g. include:_spf.example.com."},
    [SPF_D_MACRO] = {"spf.macro-syntax", E,
        "A macro is malformed (% must be followed by {letter...}, %, _ or -); receivers "
        "return permerror.",
        "Write %% for a literal percent sign; macros look like %{d} or %{ir}."},
    [SPF_D_MACRO_EXP_ONLY] = {"spf.macro-exp-only", E,
        "The macros %{c}, %{r} and %{t} are only allowed in explanation text, not in domain "
        "arguments; receivers return permerror.",
        "Use %{i} for the client address in domain arguments."},
    [SPF_D_DUP_MODIFIER] = {"spf.duplicate-modifier", E,
        "redirect= or exp= appears more than once; receivers return permerror.",
        "Keep one of each."},
    [SPF_D_BAD_MODIFIER] = {"spf.bad-modifier", E,
        "A modifier's name or value is not valid; receivers return permerror.",
        "Modifier names start with a letter; values are domain-specs or macro strings."},
    [SPF_D_NO_RECORD] = {"spf.no-record", W,
        "The domain publishes no SPF record; receivers get the result none and cannot tell "
        "forged mail from real.",
        "Publish \"v=spf1 mx -all\" (or the hosts that send your mail), or \"v=spf1 -all\" "
        "if the domain sends no mail."},
    [SPF_D_MULTIPLE] = {"spf.multiple-records", E,
        "The domain publishes more than one SPF record; receivers return permerror.",
        "Merge them into one TXT record starting with v=spf1."},
    [SPF_D_DNS_ERROR] = {"spf.dns-error", E,
        "A DNS lookup failed (timeout, SERVFAIL); receivers return temperror.",
        "Check the domain's name servers answer TXT queries."},
    [SPF_D_LOOKUP_LIMIT] = {"spf.lookup-limit", E,
        "Evaluating the record takes more than 10 DNS-querying terms (include, a, mx, ptr, "
        "exists, redirect); receivers return permerror.",
        "Replace includes you control with ip4/ip6 ranges, drop unused ones, or use "
        "subdomains per sending service."},
    [SPF_D_LOOKUP_NEAR] = {"spf.lookup-limit-near", W,
        "The record uses 9 or 10 of the 10 DNS-querying terms; one change by a provider you "
        "include may push it over.",
        "Leave headroom: flatten what you control into ip4/ip6."},
    [SPF_D_VOID_LIMIT] = {"spf.void-limit", E,
        "More than 2 lookups can come back empty (NXDOMAIN or no records); receivers return "
        "permerror.",
        "Remove mechanisms that point at names without records."},
    [SPF_D_LOOP] = {"spf.loop", E,
        "An include or redirect leads back to a record already being evaluated; receivers "
        "run into the lookup limit and return permerror.",
        "Remove the include/redirect that points back up the chain."},
    [SPF_D_TARGET_NO_RECORD] = {"spf.target-no-record", E,
        "An include or redirect target publishes no SPF record; receivers return permerror.",
        "Fix the target name, or remove the term."},
    [SPF_D_TARGET_ERROR] = {"spf.target-error", E,
        "An include or redirect target's record is invalid or could not be fetched; "
        "receivers return permerror or temperror.",
        "Fix the target record (see the findings for it) or remove the term."},
    [SPF_D_PTR] = {"spf.ptr", W,
        "The ptr mechanism is slow and unreliable and RFC 7208 says not to use it.",
        "Replace ptr with the ip4/ip6 ranges or a/mx names of your senders."},
    [SPF_D_PLUS_ALL] = {"spf.plus-all", E,
        "+all (or all without a qualifier) lets every host on the Internet send as this "
        "domain.",
        "End the record with -all (or ~all while you check what sends mail)."},
    [SPF_D_NEUTRAL_ALL] = {"spf.neutral-all", W,
        "?all says nothing about unlisted hosts; receivers treat them like no SPF at all.",
        "End the record with ~all, then -all once every sender is listed."},
    [SPF_D_NO_ALL] = {"spf.no-all", W,
        "The record has no all mechanism and no redirect: unlisted hosts get neutral.",
        "End the record with -all (or ~all)."},
    [SPF_D_AFTER_ALL] = {"spf.after-all", W,
        "Terms after all are never evaluated (all always matches).",
        "Move them before all, or remove them."},
    [SPF_D_REDIRECT_WITH_ALL] = {"spf.redirect-with-all", W,
        "redirect= is ignored when the record has an all mechanism.",
        "Remove either all or redirect=."},
    [SPF_D_STRING_LONG] = {"spf.string-too-long", W,
        "A TXT character-string holds at most 255 octets; a longer record must be split "
        "into several strings in one TXT record.",
        "Write the record as \"first part\" \"second part\" in the zone file; receivers join "
        "the strings without spaces."},
    [SPF_D_RECORD_LONG] = {"spf.record-too-long", W,
        "The record is over 512 octets; with the rest of the answer it may not fit a UDP "
        "response, and some receivers do not retry over TCP (RFC 7208 3.4).",
        "Shorten it: move groups of senders into included subdomain records."},
    [SPF_D_MACRO_TARGET] = {"spf.macro-target", I,
        "A target depends on the message (macros); it was not followed and its lookups are "
        "counted as one term each.",
        NULL},
    [SPF_D_NO_ADDRESS] = {"spf.no-address", W,
        "An a or mx target has no address records; the term never matches and counts as a "
        "void lookup.",
        "Fix the name or remove the term."},
    [SPF_D_MX_TOO_MANY] = {"spf.mx-too-many", E,
        "An mx target has more than 10 MX records; receivers return permerror.",
        "List the mail hosts with a or ip4/ip6 instead of mx."},
    [SPF_D_PARKED] = {"spf.parked-domain", W,
        "The domain has no MX and no address; it looks like it sends no mail, but its SPF "
        "does not say so.",
        "Publish \"v=spf1 -all\" (and a DMARC p=reject record, and a null MX)."},
    [SPF_D_TREE_LIMIT] = {"spf.tree-limit", E,
        "The include/redirect tree has more records than mailsec follows (64); far over "
        "the lookup limit.",
        "Flatten the record: receivers stop after 10 DNS-querying terms."},
    [SPF_D_COUNT] = {NULL, MS_SEV_INFO, NULL, NULL},
};
