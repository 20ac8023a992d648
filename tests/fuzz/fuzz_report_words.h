/* The words of an aggregate report's schema, with which the script of the
 * report writer's harness fills fields (fuzz_decode.h), shared with the
 * allocation-failure runner. */
#ifndef MAILSEC_FUZZ_REPORT_WORDS_H
#define MAILSEC_FUZZ_REPORT_WORDS_H

static const char *const POLICIES[] = {"none", "quarantine", "reject"};
static const char *const DISPOSITIONS[] = {"none", "pass", "quarantine", "reject"};
static const char *const RESULTS[] = {"pass", "fail"};
static const char *const ALIGN[] = {"r", "s"};
static const char *const OVERRIDES[] = {"forwarded", "sampled_out", "trusted_forwarder",
                                        "mailing_list", "local_policy", "other"};
static const char *const DKIM[] = {"none", "pass", "fail", "policy", "neutral", "temperror",
                                   "permerror"};
static const char *const SPF[] = {"none", "neutral", "pass", "fail", "softfail", "temperror",
                                  "permerror"};
static const char *const SCOPES[] = {"helo", "mfrom"};
static const char *const IPS[] = {"192.0.2.1", "2001:db8::1", "::ffff:10.0.0.1", "::1", "::",
                                  "::1.2.3.4", "fe80::1%eth0", "256.1.1.1"};

#endif
