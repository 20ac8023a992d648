/* alloc_fail's targets over the fuzz harnesses' seed corpora
 * (tests/fuzz/corpus/NAME): each calls what tests/fuzz/fuzz_NAME.c calls,
 * and answers with every call's status and a hash of what it gave.
 *
 * What a target makes for itself (a copy of its input, the strings a
 * byte script picks) comes from __real_malloc: only the library's own
 * allocations are counted and failed. */
#include "alloc_fail.h"

#include "core/internal.h"
#include "dkim/internal.h"
#include "dns/dns_internal.h"
#include "milter/internal.h"
#include "report/send_internal.h"
#include "roundcube/upgrade.h"
#include "tls/dialog.h"
#include "mailsec/dkim.h"
#include "mailsec/dns.h"
#include "mailsec/milter.h"
#include "mailsec/report.h"
#include "mailsec/roundcube.h"
#include "mailsec/store.h"
#include "mailsec/tls.h"
#include "dkim/stream_feed.h"
#include "serve_html.h"

#include <stdint.h>
#include <stdlib.h>
#include <unbound.h>
#include <zlib.h>

/* The harness's store script makes its strings with malloc: not the
 * library's, so not counted. */
#define malloc __real_malloc
#include "unit/store/store_extremes.h"
#undef malloc

/* A copy of len bytes and a NUL, from the real allocator; exits when
 * there is no memory for the test itself. */
static char *input_copy(const void *data, size_t len)
{
    char *copy = __real_malloc(len + 1);
    if (copy == NULL) {
        fprintf(stderr, "alloc_fail: out of memory for the input itself\n");
        exit(2);
    }
    memcpy(copy, data, len);
    copy[len] = '\0';
    return copy;
}

/* the harnesses' input decoders, copying input with input_copy */
#define FUZZ_DECODE_COPY(data, len) input_copy((data), (len))
#define FUZZ_DECODE_COPY_EXACT(data, len) input_copy((data), (len))
#include "fuzz/fuzz_decode.h"
#include "fuzz/fuzz_report_words.h"

/* ---- dkim_arc: ARC signature values parsed, sets gathered, seal data ---- */

static void arc_parse(dk_kind kind, const char *data, size_t len, answer *a)
{
    ms_dkim_signature *sig = NULL;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    unsigned instance = 0;
    dk_arc_cv cv = DK_CV_MISSING;
    ms_status st = dk_arc_signature_parse(kind, data, len, "ARC", &sig, &instance, &cv, &d);
    answer_add(a, st, "i%u cv%d usable%d findings%zu", instance, (int)cv, sig ? sig->usable : -1,
               d.count);
    ms_dkim_signature_free(sig);
    ms_diag_list_free(&d);
}

static void arc_gather(const char *data, size_t len, answer *a)
{
    static dk_field fields[FUZZ_FIELDS_MAX];
    ms_buf buf = MS_BUF_INIT;
    size_t count = fuzz_keep_fields(data, len, &buf, fields);
    if (buf.failed) {
        answer_add(a, MS_ERR_NOMEM, "fields");
        ms_buf_free(&buf);
        return;
    }
    dk_arc arc;
    memset(&arc, 0, sizeof arc);
    ms_status st = dk_arc_gather(&arc, fields, count);
    unsigned long long h = 0;
    for (unsigned i = 1; st == MS_OK && arc.failure == NULL && i <= arc.highest; i++) {
        ms_buf signed_data = MS_BUF_INIT;
        dk_arc_seal_data(&arc, i, &signed_data);
        if (signed_data.failed)
            st = MS_ERR_NOMEM;
        else
            h = hash_bytes(h, signed_data.data, signed_data.len);
        ms_buf_free(&signed_data);
    }
    answer_add(a, st, "highest%u checks%zu %s sealed%llx", arc.highest, arc.check_count,
               arc.failure ? arc.failure : "-", h);
    dk_arc_free(&arc);
    ms_buf_free(&buf);
}

void run_dkim_arc(const char *data, size_t len, answer *a)
{
    answer_begin(a);
    arc_parse(DK_ARC_MESSAGE_SIGNATURE, data, len, a);
    arc_parse(DK_ARC_SEAL, data, len, a);
    arc_gather(data, len, a);
}

/* ---- dkim_stream: the verifier over a whole message and in chunks ---- */

/* Each signature's result and the ARC verdict; a reason naming memory
 * counts as MS_ERR_NOMEM (a key look-up that ran out says so there). */
static void verify_answer(answer *a, const char *how, ms_status st, ms_dkim_verify_result *r)
{
    unsigned long long h = 0;
    int nomem = 0;
    for (size_t i = 0; r != NULL && i < r->count; i++) {
        h = hash_str(h, ms_dkim_result_str(r->items[i].result));
        nomem |= r->items[i].reason && strstr(r->items[i].reason, "out of memory") != NULL;
    }
    for (size_t i = 0; r != NULL && i < r->diags.count; i++)
        h = hash_str(h, r->diags.items[i].def->code);
    if (r != NULL) {
        h = hash_str(h, ms_dkim_arc_result_str(r->arc));
        nomem |= r->arc_reason && strstr(r->arc_reason, "out of memory") != NULL;
    }
    answer_add(a, st == MS_OK && nomem ? MS_ERR_NOMEM : st, "%s%llx", how, h);
    ms_dkim_verify_result_free(r);
}

static size_t chunk_of(void *seed, size_t left)
{
    uint32_t *s = seed;
    *s = *s * 1103515245u + 12345u;
    size_t n = 1 + (*s >> 16) % 64;
    return n < left ? n : left;
}

void run_dkim_stream(const char *data, size_t len, answer *a)
{
    answer_begin(a);
    ms_ctx *ctx = NULL;
    ms_status st = ms_ctx_new(&ctx);
    if (st == MS_OK)
        st = ms_ctx_set_resolver(ctx, "127.0.0.1@9"); /* nothing answers: every key a temperror */
    if (st == MS_OK)
        st = ms_ctx_set_timeout_ms(ctx, 1);
    if (st != MS_OK || len < 1) {
        answer_add(a, st, "ctx");
        ms_ctx_free(ctx);
        return;
    }
    const char *msg = data + 1;
    size_t mlen = len - 1;
    ms_dkim_verify_result *r = NULL;
    st = ms_dkim_verify(ctx, msg, mlen, &r);
    verify_answer(a, "whole", st, r);
    uint32_t seed = (unsigned char)data[0];
    st = dkim_feed(ctx, msg, mlen, 0, chunk_of, &seed, &r);
    verify_answer(a, "chunks", st, r);
    seed = (unsigned char)data[0];
    st = dkim_feed(ctx, msg, mlen, 1, chunk_of, &seed, &r);
    verify_answer(a, "fields", st, r);
    ms_ctx_free(ctx);
}

/* ---- dns_rdata: records decoded from their wire form, names too ---- */

void run_dns_rdata(const char *data, size_t len, answer *a)
{
    answer_begin(a);
    if (len < 1)
        return;
    const unsigned char *in = (const unsigned char *)data;
    ms_status st;
    ms_dns_answer *decoded = fuzz_rdata_decode(in, len, &st);
    unsigned long long h = 0;
    for (size_t i = 0; decoded != NULL && i < decoded->count; i++)
        h = hash_bytes(hash_str(h, decoded->records[i].text), &decoded->records[i].preference,
                       sizeof decoded->records[i].preference);
    answer_add(a, st, "records%zu %llx", decoded ? decoded->count : 0, h);
    ms_dns_answer_free(decoded);
    char *name = NULL;
    st = ms_dns_name_from_wire(in + 1, len - 1, &name);
    answer_add(a, st, "name%llx", hash_str(0, name));
    free(name);
}

/* ---- milter_headers: the field readers, then a message of those fields ---- */

static void milter_read_value(const char *value, size_t len, answer *a)
{
    char *out = NULL;
    ms_status st = ms_milter_from_domain(value, len, &out);
    answer_add(a, st, "%llx", hash_str(0, st == MS_OK ? out : NULL));
    free(out);
    out = NULL;
    st = ms_milter_auth_results_id(value, len, &out);
    answer_add(a, st, "%llx", hash_str(0, st == MS_OK ? out : NULL));
    free(out);
    out = NULL;
    st = ms_milter_list_id(value, len, &out);
    answer_add(a, st, "%llx", hash_str(0, st == MS_OK ? out : NULL));
    free(out);
    char *text = input_copy(value, len);
    ms_buf b = MS_BUF_INIT;
    milter_ar_value(&b, text);
    answer_add(a, b.failed ? MS_ERR_NOMEM : MS_OK, "%llx", hash_bytes(0, b.data, b.len));
    ms_buf_free(&b);
    free(text);
}

/* The fields (a line not starting with white space starts one): each
 * value read, each field given to the message. */
static void milter_fields(ms_milter_message *m, const char *text, size_t size, answer *a)
{
    ms_status st = MS_OK;
    const char *colon;
    for (size_t start = 0, end; fuzz_next_field(text, size, &start, &end, &colon); start = end) {
        if (colon == NULL)
            continue;
        size_t vlen = end - (size_t)(colon + 1 - text);
        milter_read_value(colon + 1, vlen, a);
        char *name = input_copy(text + start, (size_t)(colon - text) - start);
        char *value = input_copy(colon + 1, vlen);
        ms_status field_st = ms_milter_message_header(m, name, value);
        if (st == MS_OK)
            st = field_st;
        free(name);
        free(value);
    }
    answer_add(a, st, "fields");
}

void run_milter_headers(const char *data, size_t len, answer *a)
{
    answer_begin(a);
    ms_milter_config config = {0};
    config.authserv_id = "mx.example.com";
    config.max_header_bytes = 8192;
    ms_ctx *ctx = NULL;
    ms_status st = ms_ctx_new(&ctx);
    ms_milter_envelope env = {.mail_from = "a@example.com"}; /* local origin: outgoing */
    ms_milter_message *m = NULL;
    if (st == MS_OK)
        st = ms_milter_message_new(&config, ctx, &env, &m);
    answer_add(a, st, "new");
    if (st == MS_OK) {
        milter_fields(m, data, len, a);
        answer_add(a, ms_milter_message_body(m, "body\r\n", 6), "body");
        ms_milter_verdict *v = NULL;
        st = ms_milter_message_finish(m, &v);
        answer_add(a, st, "%s %llx", v ? ms_milter_action_str(v->action) : "-",
                   hash_str(0, v ? v->log : NULL));
        ms_milter_verdict_free(v);
    }
    ms_milter_message_free(m);
    ms_ctx_free(ctx);
}

/* ---- report_build: an aggregate report written, read back, mailed ---- */

/* The harness's byte script: every number and string of the report. */

static ms_status build_record(fuzz_script *s, ms_report_agg_writer *w)
{
    ms_report_agg_record r = {
        .source_ip = fuzz_script_byte(s) < 220 ? IPS[fuzz_script_byte(s) % 8] : fuzz_script_string(s),
        .count = fuzz_script_byte(s) < 250 ? 1u + fuzz_script_byte(s) : (uint64_t)fuzz_script_byte(s) << 28,
        .disposition = FUZZ_WORD(s, DISPOSITIONS),
        .dkim = FUZZ_WORD(s, RESULTS),
        .spf = FUZZ_WORD(s, RESULTS),
        .envelope_to = fuzz_script_string(s),
        .envelope_from = fuzz_script_string(s),
        .header_from = fuzz_script_byte(s) < 240 ? fuzz_script_string(s) : NULL,
    };
    r.reason_count = fuzz_script_byte(s) % (MS_REPORT_REASON_MAX + 2);
    for (size_t i = 0; i < r.reason_count && i < MS_REPORT_REASON_MAX; i++)
        r.reasons[i] = (ms_report_agg_reason){FUZZ_WORD(s, OVERRIDES), fuzz_script_string(s)};
    r.dkim_count = fuzz_script_byte(s) % 4;
    for (size_t i = 0; i < r.dkim_count; i++)
        r.dkim_results[i] = (ms_report_agg_auth){.domain = fuzz_script_string(s),
                                                 .selector = fuzz_script_string(s),
                                                 .result = FUZZ_WORD(s, DKIM),
                                                 .human_result = fuzz_script_string(s)};
    r.spf_count = fuzz_script_byte(s) % 3;
    for (size_t i = 0; i < r.spf_count; i++)
        r.spf_results[i] = (ms_report_agg_auth){.domain = fuzz_script_string(s),
                                                .scope = FUZZ_WORD(s, SCOPES),
                                                .result = FUZZ_WORD(s, SPF),
                                                .human_result = fuzz_script_string(s)};
    if (r.reason_count > MS_REPORT_REASON_MAX)
        r.reason_count = MS_REPORT_REASON_MAX + 1; /* over the limit: refused */
    return ms_report_agg_writer_record(w, &r);
}

static int count_agg_record(void *arg, const ms_report_agg_record *record)
{
    uint64_t *messages = arg;
    *messages += record->count;
    return 0;
}

/* The report read back from its gzip: the messages its records count. */
static ms_status read_back(const void *gz, size_t len, uint64_t *messages)
{
    ms_report_agg_callbacks cb = {.arg = messages, .record = count_agg_record};
    ms_report_agg_parser *parser = NULL;
    ms_report_error err = {0};
    ms_status st = ms_report_agg_parser_new(&cb, &parser);
    z_stream z = {0};
    if (st == MS_OK && inflateInit2(&z, 15 + 16) != Z_OK)
        st = MS_ERR_NOMEM; /* zlib's own allocation: not ours, but not the answer either */
    z.next_in = (Bytef *)gz;
    z.avail_in = (uInt)len;
    int zr = Z_OK;
    while (st == MS_OK && zr == Z_OK) {
        unsigned char out[8192];
        z.next_out = out;
        z.avail_out = sizeof out;
        zr = inflate(&z, Z_NO_FLUSH);
        st = ms_report_agg_parser_feed(parser, out, sizeof out - z.avail_out, &err);
    }
    inflateEnd(&z);
    if (st == MS_OK)
        st = zr == Z_STREAM_END ? ms_report_agg_parser_finish(parser, &err) : MS_ERR_INVALID;
    ms_report_error_clear(&err);
    ms_report_agg_parser_free(parser);
    return st;
}

/* The report in the mail that sends it, and that mail walked. */
static void mail_back(const void *gz, size_t len, answer *a)
{
    report_send_mail m = {.from = "r@receiver.example", .to = "d@example.com", .org_name = "Org",
                          .receiver = "receiver.example", .policy_domain = "example.com",
                          .report_id = "20260101.example.com",
                          .file_name = "receiver.example!example.com!0!86399!x.xml.gz",
                          .begin = 0, .end = 86399, .date = 0, .gz = gz, .gz_len = len};
    ms_buf message = MS_BUF_INIT;
    report_send_mail_compose(&m, &message);
    walked w = {0};
    ms_report_walk_callbacks cb = walked_callbacks(&w);
    ms_status st = message.failed ? MS_ERR_NOMEM
                                  : ms_report_walk_buffer("mail", message.data, message.len, &cb);
    answer_add(a, st == MS_OK && w.nomem > 0 ? MS_ERR_NOMEM : st, "mail%zu found%lu bytes%lld",
               message.len, w.documents, w.bytes);
    ms_buf_free(&message);
}

void run_report_build(const char *data, size_t len, answer *a)
{
    answer_begin(a);
    fuzz_script s = {.p = (const unsigned char *)data, .left = len};
    ms_report_agg_meta meta = {
        .org_name = fuzz_script_string(&s),
        .email = fuzz_script_string(&s),
        .extra_contact_info = fuzz_script_string(&s),
        .report_id = fuzz_script_string(&s),
        .begin = fuzz_script_byte(&s) < 250 ? (int64_t)fuzz_script_byte(&s) * 86400 : -1,
        .errors = fuzz_script_string(&s),
        .domain = fuzz_script_string(&s),
        .adkim = FUZZ_WORD(&s, ALIGN),
        .aspf = FUZZ_WORD(&s, ALIGN),
        .p = FUZZ_WORD(&s, POLICIES),
        .sp = FUZZ_WORD(&s, POLICIES),
        .fo = fuzz_script_string(&s),
    };
    meta.end = meta.begin + 86399;
    uint64_t max_gz = fuzz_script_byte(&s) < 200 ? 0 : (uint64_t)fuzz_script_byte(&s) * 16;
    ms_report_agg_writer *w = NULL;
    ms_status st = ms_report_agg_writer_new(&meta, max_gz, &w);
    answer_add(a, st, "new");
    unsigned long long h = 0;
    for (int i = 0; st == MS_OK && i < 64 && s.left > 0; i++) {
        ms_status rst = build_record(&s, w);
        if (rst == MS_ERR_NOMEM)
            answer_add(a, rst, "record");
        h = hash_bytes(h, &rst, sizeof rst);
    }
    if (st == MS_OK) {
        const void *gz = NULL;
        size_t gz_len = 0;
        st = ms_report_agg_writer_finish(w, &gz, &gz_len);
        answer_add(a, st, "records%llx gz%llx", h, hash_bytes(0, gz, gz_len));
        uint64_t messages = 0;
        if (st == MS_OK) {
            answer_add(a, read_back(gz, gz_len, &messages), "messages%llu",
                       (unsigned long long)messages);
            mail_back(gz, gz_len, a);
        }
    }
    ms_report_agg_writer_free(w);
    fuzz_script_free(&s);
}

/* ---- report_failure_build: a failure report built and parsed back ---- */

enum { FAILURE_FIELDS = 5 };

void run_report_failure_build(const char *data, size_t len, answer *a)
{
    answer_begin(a);
    if (len < 1)
        return;
    ms_report_redact redact = data[0] & 1 ? MS_REPORT_REDACT_LOCAL_PART : MS_REPORT_REDACT_NONE;
    char *copy = input_copy(data + 1, len - 1);
    /* the first fields end at a 0xFF byte; the header section is the rest */
    const char *field[FAILURE_FIELDS];
    char *p = copy, *end = copy + len - 1;
    for (int i = 0; i < FAILURE_FIELDS - 1; i++) {
        field[i] = p;
        char *sep = memchr(p, 0xFF, (size_t)(end - p));
        if (sep != NULL)
            *sep = '\0';
        p = sep != NULL ? sep + 1 : end;
    }
    field[FAILURE_FIELDS - 1] = p;
    ms_report_failure_out in = {
        .from = "dmarc-reports@mx.example.net", .to = "ruf@reports.example.org",
        .reporting_mta = "mx.example.net", .reported_domain = field[2],
        .source_ip = "192.0.2.1", .original_mail_from = field[0], .original_rcpt_to = field[1],
        .authentication_results = field[3], .identity_alignment = "none",
        .delivery_result = "reject", .arrival = 1796000000, .date = 1796000060,
        .headers = field[4], .headers_len = (size_t)(end - p), .redact = redact,
    };
    char *out = NULL;
    size_t out_len = 0;
    ms_status st = ms_report_failure_build(&in, 0, &out, &out_len);
    answer_add(a, st, "built%zu %llx", out_len, hash_bytes(0, out, out_len));
    if (st == MS_OK) {
        ms_report_failure *r = NULL;
        ms_report_error err = {0};
        st = ms_report_failure_parse(out, out_len, &r, &err);
        answer_add(a, st, "%s %s", r ? r->feedback_type : "-", r ? r->source_ip : "-");
        ms_report_failure_free(r);
        ms_report_error_clear(&err);
    }
    free(out);
    free(copy);
}

/* ---- roundcube_config and roundcube_upgrade ---- */

void run_roundcube_config(const char *data, size_t len, answer *a)
{
    answer_begin(a);
    ms_rc_config cfg;
    ms_status st = ms_rc_config_parse(data, len, "config.inc.php", &cfg);
    unsigned long long h = 0;
    for (size_t i = 0; st == MS_OK && i < cfg.count; i++) {
        const ms_rc_setting *s = &cfg.settings[i];
        h = hash_bytes(hash_str(h, s->key), s->value, s->value_len);
        h = hash_bytes(h, &s->type, sizeof s->type);
    }
    answer_add(a, st, "settings%zu %llx", st == MS_OK ? cfg.count : 0, h);
    if (st == MS_OK)
        ms_rc_config_free(&cfg);
}

void run_roundcube_upgrade(const char *data, size_t len, answer *a)
{
    answer_begin(a);
    if (len < 1)
        return;
    char *text = input_copy(data + 1, len - 1); /* read up to its first NUL */
    if (data[0] % 2 == 0) {
        rc_dsn dsn;
        char *error = NULL;
        ms_status st = rc_dsn_parse(text, &dsn, &error);
        answer_add(a, st, "%llx", st == MS_OK ? hash_str(hash_str(hash_str(0, dsn.name), dsn.user),
                                                         dsn.host)
                                              : hash_str(0, error));
        if (st == MS_OK)
            rc_dsn_free(&dsn);
        free(error);
    } else {
        rc_sql_script sql = {0};
        ms_status st = rc_sql_split(text, &sql);
        unsigned long long h = 0;
        for (size_t i = 0; i < sql.count; i++)
            h = hash_str(h, sql.stmts[i]);
        answer_add(a, st, "statements%zu %llx", sql.count, h);
        rc_sql_script_free(&sql);
    }
    free(text);
}

/* ---- serve_html: the dashboard's escaping (src/serve_html.c, linked in) ---- */

typedef void (*escape_fn)(FILE *, const char *, size_t);

static void escaped(answer *a, escape_fn fn, const char *data, size_t len)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n); /* libc's memory: not counted */
    if (f == NULL) {
        fprintf(stderr, "alloc_fail: open_memstream: out of memory\n");
        exit(2);
    }
    fn(f, data, len);
    int closed = fclose(f);
    answer_add(a, closed == 0 ? MS_OK : MS_ERR_IO, "%llx", hash_bytes(0, out, n));
    free(out);
}

void run_serve_html(const char *data, size_t len, answer *a)
{
    answer_begin(a);
    escaped(a, html_text, data, len);
    escaped(a, html_attr, data, len);
    escaped(a, html_url_value, data, len);
}

/* ---- store: extreme values through every write and view ---- */

/* The harness's script of extremes (tests/unit/store/store_extremes.h) in
 * an SQLite store in memory. It answers only whether all held: a write
 * or a view failing "as the store's fault" is how it reports running out
 * of memory (MS_ERR_NOMEM is the store's fault, not the report's); any
 * other complaint (a count wrapped, a bound not kept) is a wrong answer. */
void run_store(const char *data, size_t len, answer *a)
{
    ms_store *store = NULL;
    char *err = NULL;
    answer_begin(a);
    ms_status st = ms_store_open("sqlite::memory:", &store, &err);
    free(err);
    if (st != MS_OK) {
        answer_add(a, st, "open");
        return;
    }
    const char *why = extremes_run(store, (const uint8_t *)data, len);
    int store_fault = why != NULL && (strstr(why, "store's fault") || strstr(why, " failed"));
    answer_add(a, store_fault ? MS_ERR_NOMEM : MS_OK, "%s", why && !store_fault ? why : "held");
    ms_store_close(store);
}

/* ---- tls_reply: the STARTTLS dialogs' reply parser ---- */

void run_tls_reply(const char *data, size_t len, answer *a)
{
    static const ms_tls_reply_kind kinds[] = {MS_TLS_REPLY_SMTP, MS_TLS_REPLY_IMAP,
                                              MS_TLS_REPLY_POP3, MS_TLS_REPLY_POP3_MULTI,
                                              MS_TLS_REPLY_SIEVE};
    static const ms_tls_mode modes[] = {MS_TLS_SMTP, MS_TLS_IMAP, MS_TLS_POP3, MS_TLS_POP3,
                                        MS_TLS_SIEVE};
    answer_begin(a);
    if (len < 1)
        return;
    size_t k = (unsigned char)data[0] % 5;
    const char *tag = (k == 1 && (data[0] & 0x80)) ? "a" : NULL;
    ms_tls_reply r;
    ms_tls_parse p = ms_tls_reply_parse(kinds[k], tag, data + 1, len - 1, &r);
    int injection = dialog_injection_answered(modes[k], data + 1, len - 1);
    answer_add(a, MS_OK, "parse%d length%zu code%d lines%u injection%d", (int)p, r.length,
               (int)r.code, (unsigned)r.lines, injection);
}

/* ---- tsig_key ---- */

void run_tsig_key(const char *data, size_t len, answer *a)
{
    answer_begin(a);
    ms_dns_tsig_key key;
    char *error = NULL;
    ms_status st = ms_dns_tsig_key_parse(data, len, &key, &error);
    answer_add(a, st, "%llx",
               st == MS_OK ? hash_str(hash_str(hash_str(0, key.name), key.algorithm), key.secret)
                           : hash_str(0, error));
    if (st == MS_OK)
        ms_dns_tsig_key_clear(&key);
    free(error);
}
