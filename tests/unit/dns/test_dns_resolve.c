/* The DNS module against real servers: NSD from the test bed (zones in
 * tests/dnsbed/zones; every expected value below is read off those files),
 * and two stand-ins this file runs itself: a socket that never answers
 * (timeouts) and a server that answers after a delay (parallelism). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mailsec/dns.h"
#include "unit/testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A ctx that asks the test bed and trusts its signed zones. */
static int bed_setup(void **state)
{
    char resolver[1024], anchor[1024];
    if (!dnsbed_get("RESOLVER", resolver, sizeof resolver) ||
        !dnsbed_get("TRUST_ANCHOR", anchor, sizeof anchor)) {
        fprintf(stderr, "DNS test bed not running (MAILSEC_DNSBED_INFO)\n");
        return -1;
    }
    ms_ctx *ctx;
    if (ms_ctx_new(&ctx) != MS_OK || ms_ctx_set_resolver(ctx, resolver) != MS_OK ||
        ms_ctx_set_trust_anchor_file(ctx, anchor) != MS_OK ||
        ms_ctx_set_timeout_ms(ctx, 5000) != MS_OK)
        return -1;
    *state = ctx;
    return 0;
}

static int ctx_teardown(void **state)
{
    ms_ctx_free(*state);
    return 0;
}

static ms_dns_answer *lookup(ms_ctx *ctx, const char *name, uint16_t type)
{
    ms_dns_answer *answer = NULL;
    assert_int_equal(ms_dns_lookup(ctx, name, type, &answer), MS_OK);
    assert_non_null(answer);
    return answer;
}

/* Index of the record whose text is s, or -1. */
static int find_text(const ms_dns_answer *a, const char *s)
{
    for (size_t i = 0; i < a->count; i++)
        if (a->records[i].text != NULL && strcmp(a->records[i].text, s) == 0)
            return (int)i;
    return -1;
}

/* ---- TXT ----------------------------------------------------------------- */

static void txt_single_string_is_returned_as_is(void **state)
{
    ms_dns_answer *a = lookup(*state, "txt-single.dnstest.example", MS_DNS_TXT);
    assert_int_equal(a->rcode, MS_DNS_NOERROR);
    assert_string_equal(a->qname, "txt-single.dnstest.example");
    assert_int_equal(a->qtype, MS_DNS_TXT);
    assert_int_equal(a->count, 1);
    assert_int_equal(a->records[0].type, MS_DNS_TXT);
    assert_string_equal(a->records[0].text, "v=spf1 -all");
    assert_int_equal(a->records[0].text_len, 11);
    assert_int_equal(a->records[0].nstrings, 1);
    assert_int_equal(a->records[0].ttl, 300);
    assert_null(a->canonname);
    ms_dns_answer_free(a);
}

static void txt_multi_string_is_joined_without_separator(void **state)
{
    ms_dns_answer *a = lookup(*state, "txt-multi.dnstest.example", MS_DNS_TXT);
    assert_int_equal(a->rcode, MS_DNS_NOERROR);
    assert_int_equal(a->count, 1);
    assert_string_equal(a->records[0].text, "v=DMARC1; p=reject");
    assert_int_equal(a->records[0].text_len, 18);
    assert_int_equal(a->records[0].nstrings, 2);
    /* raw RDATA: length octet, string, length octet, string */
    assert_int_equal(a->records[0].rdata_len, 20);
    assert_int_equal(a->records[0].rdata[0], 10);
    ms_dns_answer_free(a);
}

static void txt_string_of_255_octets_is_kept_whole(void **state)
{
    char want[256];
    memset(want, 'a', 255);
    want[255] = '\0';
    ms_dns_answer *a = lookup(*state, "txt-255.dnstest.example", MS_DNS_TXT);
    assert_int_equal(a->count, 1);
    assert_int_equal(a->records[0].nstrings, 1);
    assert_int_equal(a->records[0].text_len, 255);
    assert_string_equal(a->records[0].text, want);
    ms_dns_answer_free(a);
}

static void txt_over_255_octets_in_three_strings_is_joined(void **state)
{
    char want[521];
    memset(want, 'b', 255);
    memset(want + 255, 'c', 255);
    memset(want + 510, 'd', 10);
    want[520] = '\0';
    ms_dns_answer *a = lookup(*state, "txt-long.dnstest.example", MS_DNS_TXT);
    assert_int_equal(a->count, 1);
    assert_int_equal(a->records[0].nstrings, 3);
    assert_int_equal(a->records[0].text_len, 520);
    assert_string_equal(a->records[0].text, want);
    ms_dns_answer_free(a);
}

static void txt_with_nul_byte_keeps_exact_length(void **state)
{
    ms_dns_answer *a = lookup(*state, "txt-nul.dnstest.example", MS_DNS_TXT);
    assert_int_equal(a->count, 1);
    assert_int_equal(a->records[0].text_len, 5);
    assert_memory_equal(a->records[0].text, "ab\0cd", 5);
    assert_int_equal(a->records[0].text[5], '\0');
    ms_dns_answer_free(a);
}

static void txt_empty_string_is_an_empty_text(void **state)
{
    ms_dns_answer *a = lookup(*state, "txt-empty.dnstest.example", MS_DNS_TXT);
    assert_int_equal(a->count, 1);
    assert_int_equal(a->records[0].nstrings, 1);
    assert_int_equal(a->records[0].text_len, 0);
    assert_string_equal(a->records[0].text, "");
    ms_dns_answer_free(a);
}

static void txt_two_records_at_one_name_are_both_returned(void **state)
{
    ms_dns_answer *a = lookup(*state, "txt-two-records.dnstest.example", MS_DNS_TXT);
    assert_int_equal(a->count, 2);
    assert_true(find_text(a, "first") >= 0);
    assert_true(find_text(a, "second") >= 0);
    ms_dns_answer_free(a);
}

static void record_ttl_is_the_zone_ttl(void **state)
{
    ms_dns_answer *a = lookup(*state, "txt-ttl.dnstest.example", MS_DNS_TXT);
    assert_int_equal(a->count, 1);
    assert_int_equal(a->records[0].ttl, 1234);
    ms_dns_answer_free(a);
}

static void qname_is_reported_without_trailing_dot(void **state)
{
    ms_dns_answer *a = lookup(*state, "txt-single.dnstest.example.", MS_DNS_TXT);
    assert_int_equal(a->rcode, MS_DNS_NOERROR);
    assert_string_equal(a->qname, "txt-single.dnstest.example");
    ms_dns_answer_free(a);
}

/* ---- negative answers ------------------------------------------------ */

static void missing_name_is_nxdomain(void **state)
{
    ms_dns_answer *a = lookup(*state, "no-such-name.dnstest.example", MS_DNS_TXT);
    assert_int_equal(a->rcode, MS_DNS_NXDOMAIN);
    assert_int_equal(a->count, 0);
    assert_null(a->records);
    ms_dns_answer_free(a);
}

static void name_with_only_a_record_is_nodata_for_txt(void **state)
{
    ms_dns_answer *a = lookup(*state, "a-only.dnstest.example", MS_DNS_TXT);
    assert_int_equal(a->rcode, MS_DNS_NODATA);
    assert_int_equal(a->count, 0);
    ms_dns_answer_free(a);
}

static void empty_non_terminal_is_nodata(void **state)
{
    ms_dns_answer *a = lookup(*state, "ent.dnstest.example", MS_DNS_TXT);
    assert_int_equal(a->rcode, MS_DNS_NODATA);
    ms_dns_answer_free(a);
}

/* ---- MX, addresses, names ------------------------------------------- */

static void mx_records_carry_their_preferences(void **state)
{
    ms_dns_answer *a = lookup(*state, "mx-pref.dnstest.example", MS_DNS_MX);
    assert_int_equal(a->rcode, MS_DNS_NOERROR);
    assert_int_equal(a->count, 3);
    int ia = find_text(a, "a.mx.dnstest.example");
    int ib = find_text(a, "b.mx.dnstest.example");
    int ic = find_text(a, "c.mx.dnstest.example");
    assert_true(ia >= 0 && ib >= 0 && ic >= 0);
    assert_int_equal(a->records[ia].preference, 5);
    assert_int_equal(a->records[ib].preference, 10);
    assert_int_equal(a->records[ic].preference, 30);
    ms_dns_answer_free(a);
}

static void mx_at_zone_apex_is_answered(void **state)
{
    ms_dns_answer *a = lookup(*state, "dnstest.example", MS_DNS_MX);
    assert_int_equal(a->count, 2);
    int i1 = find_text(a, "mx1.dnstest.example");
    int i2 = find_text(a, "mx2.dnstest.example");
    assert_true(i1 >= 0 && i2 >= 0);
    assert_int_equal(a->records[i1].preference, 10);
    assert_int_equal(a->records[i2].preference, 20);
    ms_dns_answer_free(a);
}

static void null_mx_exchange_is_the_root_as_empty_name(void **state)
{
    ms_dns_answer *a = lookup(*state, "mx-null.dnstest.example", MS_DNS_MX);
    assert_int_equal(a->count, 1);
    assert_int_equal(a->records[0].preference, 0);
    assert_string_equal(a->records[0].text, ""); /* "." without its trailing dot */
    assert_int_equal(a->records[0].text_len, 0);
    ms_dns_answer_free(a);
}

static void a_records_are_in_presentation_form(void **state)
{
    ms_dns_answer *a = lookup(*state, "multi-a.dnstest.example", MS_DNS_A);
    assert_int_equal(a->count, 3);
    assert_true(find_text(a, "192.0.2.11") >= 0);
    assert_true(find_text(a, "192.0.2.12") >= 0);
    assert_true(find_text(a, "192.0.2.13") >= 0);
    assert_int_equal(a->records[0].rdata_len, 4);
    ms_dns_answer_free(a);
}

static void aaaa_record_is_in_presentation_form(void **state)
{
    ms_dns_answer *a = lookup(*state, "host.dnstest.example", MS_DNS_AAAA);
    assert_int_equal(a->count, 1);
    assert_int_equal(a->records[0].type, MS_DNS_AAAA);
    assert_string_equal(a->records[0].text, "2001:db8::1");
    ms_dns_answer_free(a);
}

static void cname_chain_is_followed_and_canonname_set(void **state)
{
    ms_dns_answer *a = lookup(*state, "alias.dnstest.example", MS_DNS_TXT);
    assert_int_equal(a->rcode, MS_DNS_NOERROR);
    assert_string_equal(a->qname, "alias.dnstest.example");
    assert_non_null(a->canonname);
    assert_string_equal(a->canonname, "target.dnstest.example");
    assert_int_equal(a->count, 1);
    assert_string_equal(a->records[0].text, "target-text");
    ms_dns_answer_free(a);
}

static void cname_record_itself_is_decoded(void **state)
{
    ms_dns_answer *a = lookup(*state, "alias.dnstest.example", MS_DNS_CNAME);
    assert_int_equal(a->count, 1);
    assert_string_equal(a->records[0].text, "alias2.dnstest.example");
    ms_dns_answer_free(a);
}

static void ns_and_ptr_targets_are_decoded(void **state)
{
    ms_dns_answer *ns = lookup(*state, "dnstest.example", MS_DNS_NS);
    ms_dns_answer *ptr = lookup(*state, "ptr-name.dnstest.example", MS_DNS_PTR);
    assert_int_equal(ns->count, 1);
    assert_string_equal(ns->records[0].text, "ns1.dnstest.example");
    assert_int_equal(ptr->count, 1);
    assert_string_equal(ptr->records[0].text, "host.dnstest.example");
    ms_dns_answer_free(ns);
    ms_dns_answer_free(ptr);
}

static void nested_zone_answers_from_the_most_specific_zone(void **state)
{
    ms_dns_answer *a = lookup(*state, "sub.dnstest.example", MS_DNS_TXT);
    assert_int_equal(a->rcode, MS_DNS_NOERROR);
    assert_int_equal(a->count, 1);
    assert_string_equal(a->records[0].text, "from the nested zone");
    ms_dns_answer_free(a);
}

/* ---- DNSSEC ---------------------------------------------------------- */

static void signed_zone_answer_is_secure(void **state)
{
    ms_dns_answer *a = lookup(*state, "_dmarc.secure.example", MS_DNS_TXT);
    assert_int_equal(a->rcode, MS_DNS_NOERROR);
    assert_int_equal(a->dnssec, MS_DNS_DNSSEC_SECURE);
    assert_null(a->why_bogus);
    assert_string_equal(a->records[0].text, "v=DMARC1; p=reject");
    ms_dns_answer_free(a);
}

static void signed_zone_mx_is_secure(void **state)
{
    ms_dns_answer *a = lookup(*state, "secure.example", MS_DNS_MX);
    assert_int_equal(a->dnssec, MS_DNS_DNSSEC_SECURE);
    assert_int_equal(a->count, 1);
    assert_string_equal(a->records[0].text, "mail.secure.example");
    assert_int_equal(a->records[0].preference, 10);
    ms_dns_answer_free(a);
}

static void signed_zone_nxdomain_is_secure(void **state)
{
    ms_dns_answer *a = lookup(*state, "nothing-here.secure.example", MS_DNS_TXT);
    assert_int_equal(a->rcode, MS_DNS_NXDOMAIN);
    assert_int_equal(a->dnssec, MS_DNS_DNSSEC_SECURE);
    ms_dns_answer_free(a);
}

static void tampered_record_is_bogus_servfail_with_reason(void **state)
{
    ms_dns_answer *a = lookup(*state, "_dmarc.bogus.example", MS_DNS_TXT);
    assert_int_equal(a->rcode, MS_DNS_SERVFAIL);
    assert_int_equal(a->dnssec, MS_DNS_DNSSEC_BOGUS);
    assert_non_null(a->why_bogus);
    assert_true(strlen(a->why_bogus) > 0);
    assert_int_equal(a->count, 0);
    ms_dns_answer_free(a);
}

static void bogus_reason_blames_the_zone_not_the_server(void **state)
{
    ms_dns_answer *a = lookup(*state, "_dmarc.bogus.example", MS_DNS_TXT);
    assert_false(ms_dns_answer_dnssec_unavailable(a));
    char *why = ms_dns_failure_reason(*state, a);
    assert_non_null(why);
    assert_true(strncmp(why, "DNSSEC validation failed: ", 26) == 0);
    free(why);
    ms_dns_answer_free(a);
}

/* The root trust anchor and an authoritative-only server (the bed): the
 * root's DNSKEY never comes back, whatever zone is asked about. */
static void server_without_dnssec_is_told_apart_from_a_bogus_zone(void **state)
{
    (void)state;
    char resolver[1024];
    assert_true(dnsbed_get("RESOLVER", resolver, sizeof resolver));
    ms_ctx *ctx;
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    assert_int_equal(ms_ctx_set_resolver(ctx, resolver), MS_OK);
    assert_int_equal(ms_ctx_set_trust_anchor_file(ctx, "/usr/share/dns/root.key"), MS_OK);
    ms_dns_answer *a = lookup(ctx, "txt-single.dnstest.example", MS_DNS_TXT);
    assert_int_equal(a->dnssec, MS_DNS_DNSSEC_BOGUS);
    assert_true(ms_dns_answer_dnssec_unavailable(a));
    char *why = ms_dns_failure_reason(ctx, a);
    char expected[1100];
    snprintf(expected, sizeof expected, "%s does not serve DNSSEC", resolver);
    assert_non_null(strstr(why, expected));
    free(why);
    ms_dns_answer_free(a);
    ms_ctx_free(ctx);
}

static void untampered_record_in_bogus_zone_still_validates(void **state)
{
    ms_dns_answer *a = lookup(*state, "intact.bogus.example", MS_DNS_TXT);
    assert_int_equal(a->rcode, MS_DNS_NOERROR);
    assert_int_equal(a->dnssec, MS_DNS_DNSSEC_SECURE);
    ms_dns_answer_free(a);
}

static void unsigned_zone_answer_is_insecure(void **state)
{
    ms_dns_answer *a = lookup(*state, "txt-single.dnstest.example", MS_DNS_TXT);
    assert_int_equal(a->rcode, MS_DNS_NOERROR);
    assert_int_equal(a->dnssec, MS_DNS_DNSSEC_INSECURE);
    assert_null(a->why_bogus);
    ms_dns_answer_free(a);
}

/* ---- batches, callbacks, counting ------------------------------------ */

static void batch_of_many_queries_is_answered_in_full(void **state)
{
    enum { N = 16 };
    ms_dns_batch *batch;
    size_t index[N + 1];
    char name[64];
    assert_int_equal(ms_dns_batch_new(*state, &batch), MS_OK);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "q%d.dnstest.example", i);
        assert_int_equal(ms_dns_batch_add(batch, name, MS_DNS_TXT, &index[i]), MS_OK);
        assert_int_equal(index[i], (size_t)i);
    }
    assert_int_equal(ms_dns_batch_add(batch, "missing.dnstest.example", MS_DNS_TXT, &index[N]),
                     MS_OK);
    assert_int_equal(ms_dns_batch_wait(batch), MS_OK);
    for (int i = 0; i < N; i++) {
        const ms_dns_answer *a = ms_dns_batch_answer(batch, index[i]);
        char want[16];
        snprintf(want, sizeof want, "q%d", i);
        assert_non_null(a);
        assert_int_equal(a->rcode, MS_DNS_NOERROR);
        assert_string_equal(a->records[0].text, want);
    }
    assert_int_equal(ms_dns_batch_answer(batch, index[N])->rcode, MS_DNS_NXDOMAIN);
    assert_null(ms_dns_batch_answer(batch, N + 1));
    ms_dns_batch_free(batch);
}

static void batch_freed_before_waiting_calls_nothing_back(void **state)
{
    ms_dns_batch *batch;
    assert_int_equal(ms_dns_batch_new(*state, &batch), MS_OK);
    assert_int_equal(ms_dns_batch_add(batch, "q1.dnstest.example", MS_DNS_TXT, NULL), MS_OK);
    ms_dns_batch_free(batch);
    /* the forgotten query must not reach the freed batch (ASan watches) */
    assert_int_equal(ms_dns_run(*state), MS_OK);
    ms_dns_answer *a = lookup(*state, "q2.dnstest.example", MS_DNS_TXT);
    assert_string_equal(a->records[0].text, "q2");
    ms_dns_answer_free(a);
}

typedef struct chain {
    ms_ctx *ctx;
    ms_dns_answer *first, *second;
} chain;

static void on_second(void *arg, ms_dns_answer *answer)
{
    ((chain *)arg)->second = answer;
}

/* Looks up the name the first TXT record names. */
static void on_first(void *arg, ms_dns_answer *answer)
{
    chain *c = arg;
    c->first = answer;
    if (answer->rcode == MS_DNS_NOERROR && answer->count == 1)
        ms_dns_submit(c->ctx, answer->records[0].text, MS_DNS_TXT, on_second, c);
}

static void callback_can_submit_a_dependent_query_in_the_same_run(void **state)
{
    chain c = {*state, NULL, NULL};
    assert_int_equal(ms_dns_submit(c.ctx, "step1.dnstest.example", MS_DNS_TXT, on_first, &c),
                     MS_OK);
    assert_int_equal(ms_dns_run(c.ctx), MS_OK); /* one run answers both */
    assert_non_null(c.first);
    assert_non_null(c.second);
    assert_string_equal(c.first->records[0].text, "step2.dnstest.example");
    assert_string_equal(c.second->qname, "step2.dnstest.example");
    assert_string_equal(c.second->records[0].text, "done");
    ms_dns_answer_free(c.first);
    ms_dns_answer_free(c.second);
}

static void queries_sent_counts_each_submitted_query(void **state)
{
    ms_ctx *ctx = *state;
    assert_int_equal(ms_dns_queries_sent(ctx), 0);
    ms_dns_batch *batch;
    assert_int_equal(ms_dns_batch_new(ctx, &batch), MS_OK);
    assert_int_equal(ms_dns_batch_add(batch, "q1.dnstest.example", MS_DNS_TXT, NULL), MS_OK);
    assert_int_equal(ms_dns_batch_add(batch, "q2.dnstest.example", MS_DNS_TXT, NULL), MS_OK);
    assert_int_equal(ms_dns_batch_add(batch, "host.dnstest.example", MS_DNS_A, NULL), MS_OK);
    assert_int_equal(ms_dns_batch_add(batch, "bad..name", MS_DNS_A, NULL), MS_OK);
    assert_int_equal(ms_dns_batch_wait(batch), MS_OK);
    ms_dns_batch_free(batch);
    assert_int_equal(ms_dns_queries_sent(ctx), 3);
}

/* ---- names we refuse ------------------------------------------------- */

static void assert_refused_without_sending(ms_ctx *ctx, const char *name)
{
    unsigned long before = ms_dns_queries_sent(ctx);
    ms_dns_answer *a = lookup(ctx, name, MS_DNS_TXT);
    assert_int_equal(a->rcode, MS_DNS_ERROR);
    assert_int_equal(a->count, 0);
    assert_int_equal(ms_dns_queries_sent(ctx), before);
    ms_dns_answer_free(a);
}

static void label_of_64_octets_is_refused_without_sending(void **state)
{
    char name[128];
    memset(name, 'x', 64);
    strcpy(name + 64, ".dnstest.example");
    assert_refused_without_sending(*state, name);
}

static void name_of_254_octets_is_refused_without_sending(void **state)
{
    /* three labels of 63, one of 45, then "dnstest.example": 253 octets */
    char name[300] = "";
    for (int i = 0; i < 3; i++) {
        memset(name + strlen(name), 'a', 63);
        strcat(name, ".");
    }
    memset(name + strlen(name), 'b', 45);
    strcat(name, ".dnstest.example");
    assert_int_equal(strlen(name), 253);
    ms_dns_answer *ok = lookup(*state, name, MS_DNS_TXT); /* sent, answered */
    assert_int_equal(ok->rcode, MS_DNS_NXDOMAIN);
    ms_dns_answer_free(ok);
    /* one more octet in the last long label: 254 */
    memmove(name + 3 * 64 + 1, name + 3 * 64, strlen(name + 3 * 64) + 1);
    assert_int_equal(strlen(name), 254);
    assert_refused_without_sending(*state, name);
}

static void empty_labels_are_refused_without_sending(void **state)
{
    assert_refused_without_sending(*state, "a..dnstest.example");
    assert_refused_without_sending(*state, ".dnstest.example");
    assert_refused_without_sending(*state, "");
    assert_refused_without_sending(*state, "dnstest.example..");
}

static void escaped_name_is_refused_without_sending(void **state)
{
    assert_refused_without_sending(*state, "a\\046b.dnstest.example");
}

/* ---- stand-in servers ------------------------------------------------ */

static int udp_socket_on_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    *port = ntohs(sa.sin_port);
    return fd;
}

static ms_ctx *ctx_for_port(int port, unsigned timeout_ms)
{
    char resolver[64], anchor[1024];
    ms_ctx *ctx;
    snprintf(resolver, sizeof resolver, "127.0.0.1@%d", port);
    assert_int_equal(ms_ctx_new(&ctx), MS_OK);
    assert_int_equal(ms_ctx_set_resolver(ctx, resolver), MS_OK);
    /* The bed's anchors cover none of the names asked here, so nothing
     * waits for a DNSKEY from the stand-in. */
    assert_true(dnsbed_get("TRUST_ANCHOR", anchor, sizeof anchor));
    assert_int_equal(ms_ctx_set_trust_anchor_file(ctx, anchor), MS_OK);
    assert_int_equal(ms_ctx_set_timeout_ms(ctx, timeout_ms), MS_OK);
    return ctx;
}

static void server_that_never_answers_times_out_on_time(void **state)
{
    (void)state;
    int port;
    int fd = udp_socket_on_loopback(&port); /* bound, never read */
    assert_true(fd >= 0);
    ms_ctx *ctx = ctx_for_port(port, 300);
    ms_dns_batch *batch;
    assert_int_equal(ms_dns_batch_new(ctx, &batch), MS_OK);
    assert_int_equal(ms_dns_batch_add(batch, "a.silent.example", MS_DNS_TXT, NULL), MS_OK);
    assert_int_equal(ms_dns_batch_add(batch, "b.silent.example", MS_DNS_MX, NULL), MS_OK);
    long long start = now_ms();
    assert_int_equal(ms_dns_batch_wait(batch), MS_OK);
    long long took = now_ms() - start;
    assert_int_equal(ms_dns_batch_answer(batch, 0)->rcode, MS_DNS_TIMEOUT);
    assert_int_equal(ms_dns_batch_answer(batch, 1)->rcode, MS_DNS_TIMEOUT);
    assert_string_equal(ms_dns_batch_answer(batch, 1)->qname, "b.silent.example");
    assert_true(took >= 250);
    if (!MAILSEC_TEST_SANITIZED)
        assert_true(took < 2000); /* on time: not several time-outs in a row */
    ms_dns_batch_free(batch);
    ms_ctx_free(ctx);
    close(fd);
}

static void failure_reason_names_the_server_that_did_not_answer(void **state)
{
    (void)state;
    int port;
    int fd = udp_socket_on_loopback(&port); /* bound, never read */
    assert_true(fd >= 0);
    ms_ctx *ctx = ctx_for_port(port, 300);
    ms_dns_answer *a = NULL;
    assert_int_equal(ms_dns_lookup(ctx, "silent.example", MS_DNS_TXT, &a), MS_OK);
    assert_int_equal(a->rcode, MS_DNS_TIMEOUT);
    char *why = ms_dns_failure_reason(ctx, a);
    char expected[128];
    snprintf(expected, sizeof expected, "no answer from 127.0.0.1@%d within 0.3 s", port);
    assert_string_equal(why, expected);
    free(why);
    ms_dns_answer_free(a);
    ms_ctx_free(ctx);
    close(fd);
}

/* A server that answers NXDOMAIN to every query DELAY_MS after it came,
 * keeping count of how many were waiting at once. */
enum { DELAY_MS = 250, MAX_HELD = 64 };

typedef struct held {
    long long due;
    struct sockaddr_in from;
    unsigned char pkt[512];
    size_t len;
} held;

typedef struct slow_server {
    int fd;
    atomic_int stop;
    held queue[MAX_HELD];
    int nheld;
    int max_held;
    int received;
} slow_server;

/* The query's header and question, turned into an NXDOMAIN response.
 * Returns 0 when the packet is not a query we understand. */
static size_t make_nxdomain(unsigned char *pkt, size_t len)
{
    size_t pos = 12;
    if (len < 12 || (pkt[2] & 0x80))
        return 0;
    while (pos < len && pkt[pos] != 0) {
        if (pkt[pos] > 63)
            return 0;
        pos += 1 + pkt[pos];
    }
    if (pos + 5 > len)
        return 0;
    pos += 5; /* root label, type, class */
    pkt[2] = (unsigned char)(0x80 | 0x04 | (pkt[2] & 0x01)); /* QR, AA, RD copied */
    pkt[3] = 0x80 | 3;                                      /* RA, NXDOMAIN */
    memcpy(pkt + 4, "\0\1\0\0\0\0\0\0", 8);                 /* one question */
    return pos;
}

static void slow_receive(slow_server *s)
{
    held *h = &s->queue[s->nheld];
    socklen_t alen = sizeof h->from;
    ssize_t n = recvfrom(s->fd, h->pkt, sizeof h->pkt, 0, (struct sockaddr *)&h->from, &alen);
    if (n <= 0 || s->nheld >= MAX_HELD - 1)
        return;
    h->len = make_nxdomain(h->pkt, (size_t)n);
    if (h->len == 0)
        return;
    h->due = now_ms() + DELAY_MS;
    s->received++;
    if (++s->nheld > s->max_held)
        s->max_held = s->nheld;
}

static void slow_send_due(slow_server *s)
{
    long long now = now_ms();
    for (int i = 0; i < s->nheld;) {
        held *h = &s->queue[i];
        if (h->due > now) {
            i++;
            continue;
        }
        sendto(s->fd, h->pkt, h->len, 0, (struct sockaddr *)&h->from, sizeof h->from);
        s->queue[i] = s->queue[--s->nheld];
    }
}

static void *slow_server_main(void *arg)
{
    slow_server *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        if (poll(&pfd, 1, 10) > 0)
            slow_receive(s);
        slow_send_due(s);
    }
    return NULL;
}

static void batch_of_8_queries_takes_about_one_round_trip(void **state)
{
    (void)state;
    enum { N = 8 };
    slow_server *s = calloc(1, sizeof *s);
    int port;
    pthread_t thread;
    assert_non_null(s);
    s->fd = udp_socket_on_loopback(&port);
    assert_true(s->fd >= 0);
    assert_int_equal(pthread_create(&thread, NULL, slow_server_main, s), 0);

    ms_ctx *ctx = ctx_for_port(port, 5000);
    ms_dns_batch *batch;
    char name[64];
    assert_int_equal(ms_dns_batch_new(ctx, &batch), MS_OK);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "n%d.slow.example", i);
        assert_int_equal(ms_dns_batch_add(batch, name, MS_DNS_TXT, NULL), MS_OK);
    }
    long long start = now_ms();
    assert_int_equal(ms_dns_batch_wait(batch), MS_OK);
    long long took = now_ms() - start;
    atomic_store(&s->stop, 1);
    pthread_join(thread, NULL);

    for (int i = 0; i < N; i++)
        assert_int_equal(ms_dns_batch_answer(batch, (size_t)i)->rcode, MS_DNS_NXDOMAIN);
    /* The evidence that the queries went out together: the server held all
     * of them at once. In sequence they would take N * DELAY_MS = 2000 ms;
     * the wall clock is checked against that only in plain builds. */
    assert_true(s->max_held >= N);
    assert_true(took >= DELAY_MS);
    if (!MAILSEC_TEST_SANITIZED)
        assert_true(took < N * DELAY_MS);
    ms_dns_batch_free(batch);
    ms_ctx_free(ctx);
    close(s->fd);
    free(s);
}

/* ---- a resolver shared by contexts in several threads ----------------- */

enum { SHARING_THREADS = 8, SHARING_ROUNDS = 5 };

typedef struct sharer {
    ms_dns_shared *shared;
    pthread_barrier_t *attached;  /* every ctx is attached: the owner may let go */
    pthread_barrier_t *all_asked; /* every thread has had its first answers */
    pthread_barrier_t *counted;   /* the main thread has counted the threads */
    int id;
    int wrong;                    /* answers that were not the zone's */
} sharer;

/* One round: a batch of the bed's q0..q15 TXT records, checked. */
static void ask_round(sharer *s, ms_ctx *ctx, int round)
{
    enum { N = 16 };
    ms_dns_batch *batch;
    char name[64], want[16];
    if (ms_dns_batch_new(ctx, &batch) != MS_OK) {
        s->wrong++;
        return;
    }
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "q%d.dnstest.example", (i + s->id + round) % N);
        if (ms_dns_batch_add(batch, name, MS_DNS_TXT, NULL) != MS_OK)
            s->wrong++;
    }
    if (ms_dns_batch_wait(batch) != MS_OK)
        s->wrong++;
    for (int i = 0; i < N; i++) {
        const ms_dns_answer *a = ms_dns_batch_answer(batch, (size_t)i);
        snprintf(want, sizeof want, "q%d", (i + s->id + round) % N);
        if (a == NULL || a->rcode != MS_DNS_NOERROR || a->count != 1 ||
            strcmp(a->records[0].text, want) != 0)
            s->wrong++;
    }
    ms_dns_batch_free(batch);
}

static void *sharer_main(void *arg)
{
    sharer *s = arg;
    ms_ctx *ctx = NULL;
    /* configured for another server: the shared resolver's is used */
    int ok = ms_ctx_new(&ctx) == MS_OK && ms_ctx_set_resolver(ctx, "192.0.2.1@53") == MS_OK &&
             ms_dns_shared_attach(s->shared, ctx) == MS_OK;
    /* attached while the owner holds it (dns.h); only then may it let go */
    pthread_barrier_wait(s->attached);
    if (ok)
        ask_round(s, ctx, 0);
    else
        s->wrong++;
    pthread_barrier_wait(s->all_asked);
    pthread_barrier_wait(s->counted);
    for (int round = 1; round < SHARING_ROUNDS && ctx != NULL; round++)
        ask_round(s, ctx, round);
    ms_ctx_free(ctx);
    return NULL;
}

static void contexts_in_threads_share_one_resolver(void **state)
{
    ms_dns_shared *shared;
    assert_int_equal(ms_dns_shared_new(*state, 0, &shared), MS_OK);
    pthread_barrier_t attached, all_asked, counted;
    pthread_barrier_init(&attached, NULL, SHARING_THREADS + 1);
    pthread_barrier_init(&all_asked, NULL, SHARING_THREADS + 1);
    pthread_barrier_init(&counted, NULL, SHARING_THREADS + 1);
    sharer sharers[SHARING_THREADS];
    pthread_t threads[SHARING_THREADS];
    /* the resolver threads of the tests before may still be on their way out */
    for (int i = 0; i < 100 && test_threads_of_this_process() != 1; i++)
        usleep(10000);
    int before = test_threads_of_this_process();
    for (int i = 0; i < SHARING_THREADS; i++) {
        sharers[i] = (sharer){
            .shared = shared, .attached = &attached, .all_asked = &all_asked, .counted = &counted, .id = i};
        assert_int_equal(pthread_create(&threads[i], NULL, sharer_main, &sharers[i]), 0);
    }
    /* the owner's hold dropped while the threads still use it */
    pthread_barrier_wait(&attached);
    ms_dns_shared_free(shared);
    pthread_barrier_wait(&all_asked);
    /* Every ctx has asked: its threads, one dispatcher and one libunbound
     * worker, where a resolver each would have made eight workers. */
    int during = test_threads_of_this_process();
    pthread_barrier_wait(&counted);
    for (int i = 0; i < SHARING_THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(sharers[i].wrong, 0);
    }
    assert_int_equal(during - before, SHARING_THREADS + 2);
    /* the last ctx freed the resolver: its two threads are gone */
    for (int i = 0; i < 100 && test_threads_of_this_process() != before; i++)
        usleep(10000);
    assert_int_equal(test_threads_of_this_process(), before);
    pthread_barrier_destroy(&attached);
    pthread_barrier_destroy(&all_asked);
    pthread_barrier_destroy(&counted);
}

/* A server that never answers names beginning with "stuck" and answers
 * every other one at once, NXDOMAIN. */
typedef struct picky_server {
    int fd;
    atomic_int stop;
} picky_server;

static int asks_for_stuck(const unsigned char *pkt, size_t len)
{
    return len > 18 && pkt[12] >= 5 && memcmp(pkt + 13, "stuck", 5) == 0;
}

static void *picky_server_main(void *arg)
{
    picky_server *s = arg;
    unsigned char pkt[512];
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        if (poll(&pfd, 1, 10) <= 0)
            continue;
        struct sockaddr_in from;
        socklen_t alen = sizeof from;
        ssize_t n = recvfrom(s->fd, pkt, sizeof pkt, 0, (struct sockaddr *)&from, &alen);
        if (n <= 0 || asks_for_stuck(pkt, (size_t)n))
            continue;
        size_t len = make_nxdomain(pkt, (size_t)n);
        if (len > 0)
            sendto(s->fd, pkt, len, 0, (struct sockaddr *)&from, alen);
    }
    return NULL;
}

typedef struct stuck_asker {
    ms_dns_shared *shared;
    atomic_int done;
    ms_dns_rcode rcode;
    long long took;
} stuck_asker;

static void *stuck_asker_main(void *arg)
{
    stuck_asker *a = arg;
    ms_ctx *ctx = NULL;
    ms_dns_answer *answer = NULL;
    a->rcode = MS_DNS_NOERROR; /* not what is expected */
    long long start = now_ms();
    if (ms_ctx_new(&ctx) == MS_OK && ms_ctx_set_timeout_ms(ctx, 3000) == MS_OK &&
        ms_dns_shared_attach(a->shared, ctx) == MS_OK &&
        ms_dns_lookup(ctx, "stuck.picky.example", MS_DNS_TXT, &answer) == MS_OK)
        a->rcode = answer->rcode;
    a->took = now_ms() - start;
    ms_dns_answer_free(answer);
    ms_ctx_free(ctx);
    atomic_store(&a->done, 1);
    return NULL;
}

static void stuck_answer_for_one_ctx_delays_no_other(void **state)
{
    (void)state;
    enum { FAST = 20 };
    picky_server server = {0};
    int port;
    pthread_t server_thread, asker_thread;
    server.fd = udp_socket_on_loopback(&port);
    assert_true(server.fd >= 0);
    assert_int_equal(pthread_create(&server_thread, NULL, picky_server_main, &server), 0);
    ms_ctx *config = ctx_for_port(port, 3000);
    stuck_asker asker = {0};
    assert_int_equal(ms_dns_shared_new(config, 0, &asker.shared), MS_OK);
    assert_int_equal(pthread_create(&asker_thread, NULL, stuck_asker_main, &asker), 0);

    /* one after another while the other ctx waits for its stuck answer */
    ms_ctx *ctx = ctx_for_port(port, 3000);
    assert_int_equal(ms_dns_shared_attach(asker.shared, ctx), MS_OK);
    usleep(100000); /* the stuck query is out first */
    char name[64];
    for (int i = 0; i < FAST; i++) {
        ms_dns_answer *a = NULL;
        snprintf(name, sizeof name, "fast%d.picky.example", i);
        assert_int_equal(ms_dns_lookup(ctx, name, MS_DNS_TXT, &a), MS_OK);
        assert_int_equal(a->rcode, MS_DNS_NXDOMAIN);
        ms_dns_answer_free(a);
    }
    assert_int_equal(atomic_load(&asker.done), 0);

    pthread_join(asker_thread, NULL);
    assert_int_equal(asker.rcode, MS_DNS_TIMEOUT);
    assert_true(asker.took >= 2900); /* its own timeout, not another's */
    if (!MAILSEC_TEST_SANITIZED)
        assert_true(asker.took < 4500);
    ms_ctx_free(ctx);
    ms_dns_shared_free(asker.shared);
    ms_ctx_free(config);
    atomic_store(&server.stop, 1);
    pthread_join(server_thread, NULL);
    close(server.fd);
}

static void shared_resolver_answers_beyond_its_bound_at_once(void **state)
{
    (void)state;
    int port;
    int fd = udp_socket_on_loopback(&port); /* bound, never read */
    assert_true(fd >= 0);
    ms_ctx *config = ctx_for_port(port, 300);
    ms_dns_shared *shared;
    ms_ctx *ctx = ctx_for_port(port, 300);
    assert_int_equal(ms_dns_shared_new(config, 2, &shared), MS_OK);
    assert_int_equal(ms_dns_shared_attach(shared, ctx), MS_OK);
    ms_dns_batch *batch;
    assert_int_equal(ms_dns_batch_new(ctx, &batch), MS_OK);
    assert_int_equal(ms_dns_batch_add(batch, "a.silent.example", MS_DNS_TXT, NULL), MS_OK);
    assert_int_equal(ms_dns_batch_add(batch, "b.silent.example", MS_DNS_TXT, NULL), MS_OK);
    assert_int_equal(ms_dns_batch_add(batch, "c.silent.example", MS_DNS_TXT, NULL), MS_OK);
    assert_int_equal(ms_dns_queries_sent(ctx), 2);
    assert_int_equal(ms_dns_batch_wait(batch), MS_OK);
    assert_int_equal(ms_dns_batch_answer(batch, 0)->rcode, MS_DNS_TIMEOUT);
    assert_int_equal(ms_dns_batch_answer(batch, 1)->rcode, MS_DNS_TIMEOUT);
    assert_int_equal(ms_dns_batch_answer(batch, 2)->rcode, MS_DNS_ERROR);
    ms_dns_batch_free(batch);
    /* given up on, the two make room again */
    ms_dns_answer *a = NULL;
    assert_int_equal(ms_dns_lookup(ctx, "d.silent.example", MS_DNS_TXT, &a), MS_OK);
    assert_int_equal(a->rcode, MS_DNS_TIMEOUT);
    assert_int_equal(ms_dns_queries_sent(ctx), 3);
    ms_dns_answer_free(a);
    ms_ctx_free(ctx);
    ms_dns_shared_free(shared);
    ms_ctx_free(config);
    close(fd);
}

/* ---- names of codes -------------------------------------------------- */

static void rcode_and_dnssec_names_are_stable(void **state)
{
    (void)state;
    assert_string_equal(ms_dns_rcode_str(MS_DNS_NOERROR), "NOERROR");
    assert_string_equal(ms_dns_rcode_str(MS_DNS_NODATA), "NODATA");
    assert_string_equal(ms_dns_rcode_str(MS_DNS_NXDOMAIN), "NXDOMAIN");
    assert_string_equal(ms_dns_rcode_str(MS_DNS_SERVFAIL), "SERVFAIL");
    assert_string_equal(ms_dns_rcode_str(MS_DNS_TIMEOUT), "TIMEOUT");
    assert_string_equal(ms_dns_rcode_str(MS_DNS_ERROR), "ERROR");
    assert_string_equal(ms_dns_dnssec_state_str(MS_DNS_DNSSEC_SECURE), "secure");
    assert_string_equal(ms_dns_dnssec_state_str(MS_DNS_DNSSEC_INSECURE), "insecure");
    assert_string_equal(ms_dns_dnssec_state_str(MS_DNS_DNSSEC_BOGUS), "bogus");
}

#define BED_TEST(f) cmocka_unit_test_setup_teardown(f, bed_setup, ctx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BED_TEST(txt_single_string_is_returned_as_is),
        BED_TEST(txt_multi_string_is_joined_without_separator),
        BED_TEST(txt_string_of_255_octets_is_kept_whole),
        BED_TEST(txt_over_255_octets_in_three_strings_is_joined),
        BED_TEST(txt_with_nul_byte_keeps_exact_length),
        BED_TEST(txt_empty_string_is_an_empty_text),
        BED_TEST(txt_two_records_at_one_name_are_both_returned),
        BED_TEST(record_ttl_is_the_zone_ttl),
        BED_TEST(qname_is_reported_without_trailing_dot),
        BED_TEST(missing_name_is_nxdomain),
        BED_TEST(name_with_only_a_record_is_nodata_for_txt),
        BED_TEST(empty_non_terminal_is_nodata),
        BED_TEST(mx_records_carry_their_preferences),
        BED_TEST(mx_at_zone_apex_is_answered),
        BED_TEST(null_mx_exchange_is_the_root_as_empty_name),
        BED_TEST(a_records_are_in_presentation_form),
        BED_TEST(aaaa_record_is_in_presentation_form),
        BED_TEST(cname_chain_is_followed_and_canonname_set),
        BED_TEST(cname_record_itself_is_decoded),
        BED_TEST(ns_and_ptr_targets_are_decoded),
        BED_TEST(nested_zone_answers_from_the_most_specific_zone),
        BED_TEST(signed_zone_answer_is_secure),
        BED_TEST(signed_zone_mx_is_secure),
        BED_TEST(signed_zone_nxdomain_is_secure),
        BED_TEST(tampered_record_is_bogus_servfail_with_reason),
        BED_TEST(bogus_reason_blames_the_zone_not_the_server),
        cmocka_unit_test(server_without_dnssec_is_told_apart_from_a_bogus_zone),
        cmocka_unit_test(failure_reason_names_the_server_that_did_not_answer),
        BED_TEST(untampered_record_in_bogus_zone_still_validates),
        BED_TEST(unsigned_zone_answer_is_insecure),
        BED_TEST(batch_of_many_queries_is_answered_in_full),
        BED_TEST(batch_freed_before_waiting_calls_nothing_back),
        BED_TEST(contexts_in_threads_share_one_resolver),
        cmocka_unit_test(stuck_answer_for_one_ctx_delays_no_other),
        cmocka_unit_test(shared_resolver_answers_beyond_its_bound_at_once),
        BED_TEST(callback_can_submit_a_dependent_query_in_the_same_run),
        BED_TEST(queries_sent_counts_each_submitted_query),
        BED_TEST(label_of_64_octets_is_refused_without_sending),
        BED_TEST(name_of_254_octets_is_refused_without_sending),
        BED_TEST(empty_labels_are_refused_without_sending),
        BED_TEST(escaped_name_is_refused_without_sending),
        cmocka_unit_test(server_that_never_answers_times_out_on_time),
        cmocka_unit_test(batch_of_8_queries_takes_about_one_round_trip),
        cmocka_unit_test(rcode_and_dnssec_names_are_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
