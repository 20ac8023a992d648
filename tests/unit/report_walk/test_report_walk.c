/* ms_report_walk: reports found by content in files, archives, messages,
 * mboxes and Maildirs, and hostile input stopped with a reason.
 *
 * The inputs are built at test time by tests/data/walk/make-fixtures.py
 * (Python's gzip, zipfile, email and mailbox modules) into the directory
 * named by MAILSEC_WALK_FIXTURES; each document found is read to the end
 * and compared byte for byte with the report committed in tests/data/walk/
 * it was made from. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailsec/report.h"

#define MAX_SEEN 32
/* Bytes of one document kept for comparison (bombs are counted, not kept). */
#define KEEP_MAX (1 << 20)

/* Bytes a callback handed over, kept. */
typedef struct kept {
    unsigned char *data; /* KEEP_MAX bytes */
    size_t len;
} kept;

typedef struct doc_seen {
    ms_report_kind kind;
    char *file, *path, *key, *error;
    unsigned char *bytes;
    size_t len;   /* bytes kept */
    size_t total; /* bytes read */
    int tapped;   /* ms_report_doc_tap_gzip took the document */
    kept gz;      /* what it handed over */
    int ahead;    /* what ms_report_doc_gzip_ahead returned, once tapped */
    size_t gz_before_ahead; /* gz.len then */
    kept rest;    /* what it handed over */
} doc_seen;

typedef struct walk_seen {
    doc_seen docs[MAX_SEEN];
    size_t ndocs;
    char *skip_path[MAX_SEEN], *skip_reason[MAX_SEEN];
    size_t nskips;
    char *files[MAX_SEEN];
    size_t nfiles;
    int stop_after; /* stop the walk after this many documents (0: never) */
    int dont_read;  /* hand documents back unread */
    int tap;        /* ask for each document's compressed form */
    size_t ahead_max; /* and then its rest, read ahead (ms_report_doc_gzip_ahead), up to this */
} walk_seen;

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int keep(void *arg, const void *bytes, size_t len)
{
    kept *k = arg;
    assert_true(k->len + len <= KEEP_MAX);
    memcpy(k->data + k->len, bytes, len);
    k->len += len;
    return 0;
}

static int on_document(void *arg, ms_report_doc *doc)
{
    walk_seen *w = arg;
    assert_true(w->ndocs < MAX_SEEN);
    doc_seen *d = &w->docs[w->ndocs++];
    d->kind = ms_report_doc_kind(doc);
    d->file = strdup(ms_report_doc_origin(doc)->file);
    d->path = strdup(ms_report_doc_origin(doc)->path);
    d->key = dup_or_null(ms_report_doc_message_key(doc));
    d->bytes = malloc(KEEP_MAX);
    assert_non_null(d->bytes);
    if (w->tap) {
        d->gz.data = malloc(KEEP_MAX);
        assert_non_null(d->gz.data);
        d->tapped = ms_report_doc_tap_gzip(doc, keep, &d->gz);
        if (w->ahead_max > 0) {
            d->gz_before_ahead = d->gz.len;
            d->rest.data = malloc(KEEP_MAX);
            assert_non_null(d->rest.data);
            d->ahead = ms_report_doc_gzip_ahead(doc, w->ahead_max, keep, &d->rest);
        }
    }
    if (!w->dont_read) {
        char buf[8192];
        ssize_t n;
        while ((n = ms_report_doc_read(doc, buf, sizeof buf)) > 0) {
            size_t keep = d->len + (size_t)n <= KEEP_MAX ? (size_t)n : KEEP_MAX - d->len;
            memcpy(d->bytes + d->len, buf, keep);
            d->len += keep;
            d->total += (size_t)n;
        }
        if (n < 0) {
            assert_non_null(ms_report_doc_error(doc));
            d->error = strdup(ms_report_doc_error(doc));
            /* the error stays */
            assert_int_equal(ms_report_doc_read(doc, buf, sizeof buf), -1);
        }
    }
    return w->stop_after > 0 && (int)w->ndocs >= w->stop_after;
}

static void on_skipped(void *arg, const ms_report_origin *origin, const char *reason)
{
    walk_seen *w = arg;
    assert_true(w->nskips < MAX_SEEN);
    w->skip_path[w->nskips] = strdup(origin->path);
    w->skip_reason[w->nskips] = strdup(reason);
    w->nskips++;
}

static void on_file(void *arg, const char *path, int64_t size)
{
    walk_seen *w = arg;
    (void)size;
    assert_true(w->nfiles < MAX_SEEN);
    w->files[w->nfiles++] = strdup(path);
}

static void seen_free(walk_seen *w)
{
    for (size_t i = 0; i < w->ndocs; i++) {
        doc_seen *d = &w->docs[i];
        free(d->file);
        free(d->path);
        free(d->key);
        free(d->error);
        free(d->bytes);
        free(d->gz.data);
        free(d->rest.data);
    }
    for (size_t i = 0; i < w->nskips; i++) {
        free(w->skip_path[i]);
        free(w->skip_reason[i]);
    }
    for (size_t i = 0; i < w->nfiles; i++)
        free(w->files[i]);
    memset(w, 0, sizeof *w);
}

static const ms_report_walk_callbacks *callbacks(walk_seen *w)
{
    static ms_report_walk_callbacks cb;
    cb = (ms_report_walk_callbacks){w, on_document, on_skipped, on_file, NULL};
    return &cb;
}

/* ---- Inputs ---------------------------------------------------------- */

static char *fixture(const char *name)
{
    const char *dir = getenv("MAILSEC_WALK_FIXTURES");
    assert_non_null(dir);
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    assert_non_null(path);
    sprintf(path, "%s/%s", dir, name);
    return path;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    unsigned char *data = malloc(cap);
    size_t got;
    while ((got = fread(data + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            data = realloc(data, cap *= 2);
    }
    fclose(f);
    *len = n;
    return data;
}

/* A report committed in tests/data/walk/. */
static unsigned char *original(const char *name, size_t *len)
{
    const char *src = getenv("MAILSEC_SOURCE_DIR");
    assert_non_null(src);
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/walk/%s", src, name);
    return read_file(path, len);
}

static void assert_doc_is(const doc_seen *d, ms_report_kind kind, const char *original_name)
{
    size_t len;
    unsigned char *want = original(original_name, &len);
    assert_int_equal(d->kind, kind);
    if (d->error != NULL)
        fail_msg("%s: %s", d->path, d->error);
    assert_int_equal(d->total, len);
    assert_memory_equal(d->bytes, want, len);
    free(want);
}

static void walk_fixture(walk_seen *w, const char *name)
{
    char *path = fixture(name);
    const char *paths[] = {path};
    assert_int_equal(ms_report_walk(paths, 1, callbacks(w)), MS_OK);
    free(path);
}

/* "DIR/name" + rest: the origin path expected for a fixture. */
static char *origin_of(const char *name, const char *rest)
{
    char *path = fixture(name);
    char *full = malloc(strlen(path) + strlen(rest) + 1);
    sprintf(full, "%s%s", path, rest);
    free(path);
    return full;
}

static void assert_origin(const char *got, const char *name, const char *rest)
{
    char *want = origin_of(name, rest);
    assert_string_equal(got, want);
    free(want);
}

/* got starts with the fixture's path followed by rest. */
static void assert_starts(const char *got, const char *name, const char *rest)
{
    char *want = origin_of(name, rest);
    if (strncmp(got, want, strlen(want)) != 0)
        fail_msg("\"%s\" does not start with \"%s\"", got, want);
    free(want);
}

/* ---- Plain files and archives -------------------------------------------- */

static void test_plain_xml(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "report.xml");
    assert_int_equal(w.ndocs, 1);
    assert_int_equal(w.nskips, 0);
    assert_int_equal(w.nfiles, 1);
    assert_doc_is(&w.docs[0], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_origin(w.docs[0].path, "report.xml", "");
    assert_origin(w.docs[0].file, "report.xml", "");
    assert_null(w.docs[0].key); /* not in a message */
    seen_free(&w);
}

static void test_gzip_xml(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "report.xml.gz");
    assert_int_equal(w.ndocs, 1);
    assert_doc_is(&w.docs[0], MS_REPORT_AGGREGATE, "aggregate.xml");
    /* the gzip header's FNAME names the inner document */
    assert_origin(w.docs[0].path, "report.xml.gz", ": report.xml");
    seen_free(&w);
}

/* A gzip'd report's compressed form is the gzip stream as it came, byte
 * for byte, without what follows its last member; other documents have
 * none. */
static void test_gzip_tap(void **state)
{
    (void)state;
    walk_seen w = {.tap = 1};
    walk_fixture(&w, "report.xml.gz");
    char *path = fixture("report.xml.gz");
    size_t len;
    unsigned char *file = read_file(path, &len);
    assert_true(w.docs[0].tapped);
    assert_doc_is(&w.docs[0], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_int_equal(w.docs[0].gz.len, len);
    assert_memory_equal(w.docs[0].gz.data, file, len);

    /* trailing bytes after the member are not part of it */
    unsigned char *padded = malloc(len + 16);
    memcpy(padded, file, len);
    memcpy(padded + len, "trailing bytes\n", 16);
    assert_int_equal(ms_report_walk_buffer("padded.gz", padded, len + 16, callbacks(&w)), MS_OK);
    assert_true(w.docs[1].tapped);
    assert_doc_is(&w.docs[1], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_int_equal(w.docs[1].gz.len, len);
    assert_memory_equal(w.docs[1].gz.data, file, len);

    walk_fixture(&w, "two.zip");           /* deflate inside zip: no gzip stream */
    walk_fixture(&w, "inline.eml");        /* not compressed at all */
    walk_fixture(&w, "base64-gzip.eml");   /* a gzip attachment: its decoded bytes */
    assert_int_equal(w.ndocs, 6);
    assert_false(w.docs[2].tapped);
    assert_false(w.docs[3].tapped);
    assert_false(w.docs[4].tapped);
    assert_true(w.docs[5].tapped);
    assert_doc_is(&w.docs[5], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_true(w.docs[5].gz.len > 18 && w.docs[5].gz.data[0] == 0x1f && w.docs[5].gz.data[1] == 0x8b);
    free(padded);
    free(file);
    free(path);
    seen_free(&w);
}

/* The rest of a tapped gzip stream, read ahead: with what the tap had, the
 * whole input (past the last member too); the document still reads whole
 * and the tap still gets the stream. None when it is longer than asked,
 * or the document is not a tapped gzip stream. */
static void test_gzip_ahead(void **state)
{
    (void)state;
    char *path = fixture("report.xml.gz");
    size_t len;
    unsigned char *file = read_file(path, &len);
    unsigned char *padded = malloc(len + 16);
    memcpy(padded, file, len);
    memcpy(padded + len, "trailing bytes\n", 16);
    walk_seen w = {.tap = 1, .ahead_max = 64 << 10};
    walk_fixture(&w, "report.xml.gz");
    assert_int_equal(ms_report_walk_buffer("padded.gz", padded, len + 16, callbacks(&w)), MS_OK);
    const unsigned char *inputs[] = {file, padded};
    size_t lens[] = {len, len + 16};
    for (size_t i = 0; i < 2; i++) {
        doc_seen *d = &w.docs[i];
        assert_true(d->ahead);
        assert_int_equal(d->gz_before_ahead + d->rest.len, lens[i]);
        assert_memory_equal(d->gz.data, inputs[i], d->gz_before_ahead);
        assert_memory_equal(d->rest.data, inputs[i] + d->gz_before_ahead, d->rest.len);
        assert_doc_is(d, MS_REPORT_AGGREGATE, "aggregate.xml");
        assert_int_equal(d->gz.len, len);
        assert_memory_equal(d->gz.data, file, len);
    }
    walk_seen small = {.tap = 1, .ahead_max = 8}; /* the trailing bytes alone are more */
    assert_int_equal(ms_report_walk_buffer("padded.gz", padded, len + 16, callbacks(&small)), MS_OK);
    walk_fixture(&small, "two.zip");
    walk_fixture(&small, "inline.eml");
    assert_int_equal(small.ndocs, 4);
    for (size_t i = 0; i < small.ndocs; i++)
        assert_false(small.docs[i].ahead);
    assert_doc_is(&small.docs[0], MS_REPORT_AGGREGATE, "aggregate.xml");
    free(padded);
    free(file);
    free(path);
    seen_free(&w);
    seen_free(&small);
}

static void test_zip_two_reports(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "two.zip");
    assert_int_equal(w.ndocs, 2);
    assert_int_equal(w.nskips, 0); /* readme.txt and the directory entry: silently passed over */
    assert_doc_is(&w.docs[0], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_origin(w.docs[0].path, "two.zip", ": a.xml");
    assert_doc_is(&w.docs[1], MS_REPORT_AGGREGATE, "aggregate-2.xml");
    assert_origin(w.docs[1].path, "two.zip", ": sub/b.xml");
    seen_free(&w);
}

static void test_tlsrpt_json_and_gzip(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "tlsrpt.json");
    walk_fixture(&w, "tlsrpt.json.gz");
    assert_int_equal(w.ndocs, 2);
    assert_doc_is(&w.docs[0], MS_REPORT_TLSRPT, "tlsrpt.json");
    assert_doc_is(&w.docs[1], MS_REPORT_TLSRPT, "tlsrpt.json");
    assert_origin(w.docs[1].path, "tlsrpt.json.gz", ": tlsrpt.json");
    seen_free(&w);
}

/* ---- Messages ---------------------------------------------------------------- */

static void test_message_base64_gzip(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "base64-gzip.eml");
    assert_int_equal(w.ndocs, 1);
    assert_int_equal(w.nskips, 0); /* the text/plain greeting is ignored */
    assert_doc_is(&w.docs[0], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_origin(w.docs[0].path, "base64-gzip.eml", ": part 2 (report.xml.gz): report.xml");
    assert_string_equal(w.docs[0].key, "agg-1@receiver.example");
    seen_free(&w);
}

static void test_message_inline_xml(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "inline.eml");
    assert_int_equal(w.ndocs, 1);
    assert_doc_is(&w.docs[0], MS_REPORT_AGGREGATE, "aggregate-2.xml"); /* quoted-printable decoded */
    assert_origin(w.docs[0].path, "inline.eml", ": part 1 (text/xml)");
    assert_string_equal(w.docs[0].key, "inline-2@receiver.example");
    seen_free(&w);
}

static void test_message_octet_stream_zip(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "octet-zip.eml");
    assert_int_equal(w.ndocs, 1);
    assert_int_equal(w.nskips, 0); /* the text and HTML greetings are ignored */
    assert_doc_is(&w.docs[0], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_origin(w.docs[0].path, "octet-zip.eml", ": part 2 (report.zip): report.xml");
    seen_free(&w);
}

static void test_message_rfc822_nested(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "nested.eml");
    assert_int_equal(w.ndocs, 1);
    assert_doc_is(&w.docs[0], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_origin(w.docs[0].path, "nested.eml", ": part 2 (message/rfc822): part 2 (report.xml.gz): report.xml");
    /* the message that carries the report is the attached one */
    assert_string_equal(w.docs[0].key, "agg-1@receiver.example");
    seen_free(&w);
}

static void test_message_in_zip(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "message.zip");
    assert_int_equal(w.ndocs, 1);
    assert_doc_is(&w.docs[0], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_origin(w.docs[0].path, "message.zip", ": report.eml: part 2 (report.xml.gz): report.xml");
    assert_string_equal(w.docs[0].key, "agg-1@receiver.example");
    seen_free(&w);
}

static void test_failure_report(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "failure.eml");
    assert_int_equal(w.ndocs, 1);
    assert_doc_is(&w.docs[0], MS_REPORT_FAILURE, "failure.eml"); /* the whole message */
    assert_origin(w.docs[0].path, "failure.eml", "");
    assert_string_equal(w.docs[0].key, "failure-report-1@example.net");
    seen_free(&w);
}

static void test_forwarded_failure_report(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "forwarded-failure.eml");
    assert_int_equal(w.ndocs, 2);
    /* the attached failure report is a message of its own: its document
     * is that message, its key that message's Message-ID */
    assert_int_equal(w.docs[0].kind, MS_REPORT_FAILURE);
    assert_null(w.docs[0].error);
    assert_origin(w.docs[0].path, "forwarded-failure.eml", ": part 2 (message/rfc822)");
    assert_string_equal(w.docs[0].key, "failure-report-1@example.net");
    assert_true(w.docs[0].len > 0 && w.docs[0].len < KEEP_MAX);
    w.docs[0].bytes[w.docs[0].len - 1] = '\0';
    assert_non_null(strstr((char *)w.docs[0].bytes, "Message-ID: <failure-report-1@example.net>"));
    assert_non_null(strstr((char *)w.docs[0].bytes, "Feedback-Type: auth-failure"));
    assert_non_null(strstr((char *)w.docs[0].bytes, "--part1_13d.2e68ed54_boundary--"));
    /* the aggregate report beside it belongs to the forward */
    assert_doc_is(&w.docs[1], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_string_equal(w.docs[1].key, "forward-8@example.com");
    seen_free(&w);
}

static void test_tlsrpt_message(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "tlsrpt.eml");
    assert_int_equal(w.ndocs, 1);
    assert_doc_is(&w.docs[0], MS_REPORT_TLSRPT, "tlsrpt.json");
    assert_origin(w.docs[0].path, "tlsrpt.eml",
                  ": part 2 (company-x.example!company-y.example!1459468800!1459555199.json.gz): report.json");
    seen_free(&w);
}

static void test_message_key_digest(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "nomsgid.eml");
    assert_int_equal(w.ndocs, 1);
    char *sum_path = fixture("nomsgid.eml.sha256");
    size_t len;
    unsigned char *sum = read_file(sum_path, &len); /* hashlib's answer */
    assert_int_equal(len, 64);
    assert_non_null(w.docs[0].key);
    assert_memory_equal(w.docs[0].key, sum, 64);
    assert_int_equal(strlen(w.docs[0].key), 64);
    free(sum);
    free(sum_path);
    seen_free(&w);
}

/* The byte offset of the n-th (1-based) "From " line of an mbox. */
static long from_line(const unsigned char *data, size_t len, int n)
{
    for (size_t i = 0; i + 5 <= len; i++)
        if ((i == 0 || data[i - 1] == '\n') && memcmp(data + i, "From ", 5) == 0 && --n == 0)
            return (long)i;
    return -1;
}

static void test_mbox(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "inbox.mbox");
    char *path = fixture("inbox.mbox");
    size_t len;
    unsigned char *box = read_file(path, &len);
    free(path);
    assert_int_equal(w.ndocs, 3);
    assert_int_equal(w.nfiles, 1);
    char rest[512];
    assert_doc_is(&w.docs[0], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_origin(w.docs[0].path, "inbox.mbox", ": message 1 (byte 0): part 2 (report.xml.gz): report.xml");
    assert_string_equal(w.docs[0].key, "agg-1@receiver.example");
    assert_doc_is(&w.docs[1], MS_REPORT_AGGREGATE, "aggregate.xml");
    snprintf(rest, sizeof rest, ": message 2 (byte %ld): part 2 (report.zip): report.xml", from_line(box, len, 2));
    assert_origin(w.docs[1].path, "inbox.mbox", rest);
    assert_string_equal(w.docs[1].key, "zip-3@receiver.example");
    /* message 3 is a note about lunch */
    assert_int_equal(w.nskips, 1);
    snprintf(rest, sizeof rest, ": message 3 (byte %ld)", from_line(box, len, 3));
    assert_origin(w.skip_path[0], "inbox.mbox", rest);
    assert_string_equal(w.skip_reason[0], "no report found in this message");
    assert_doc_is(&w.docs[2], MS_REPORT_TLSRPT, "tlsrpt.json");
    snprintf(rest, sizeof rest, ": message 4 (byte %ld): part 2 (", from_line(box, len, 4));
    assert_starts(w.docs[2].path, "inbox.mbox", rest);
    assert_string_equal(w.docs[2].key, "tlsrpt-5@company-x.example");
    free(box);
    seen_free(&w);
}

static void test_gzip_mbox(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "inbox.mbox.gz"); /* spooled, then parsed as the file would be */
    assert_int_equal(w.ndocs, 3);
    assert_doc_is(&w.docs[0], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_origin(w.docs[0].path, "inbox.mbox.gz", ": inbox.mbox: message 1 (byte 0): part 2 (report.xml.gz): report.xml");
    assert_doc_is(&w.docs[2], MS_REPORT_TLSRPT, "tlsrpt.json");
    assert_int_equal(w.nskips, 1);
    assert_string_equal(w.skip_reason[0], "no report found in this message");
    seen_free(&w);
}

static void test_maildir(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "Maildir");
    /* the subfolder's TLS report, the gzip'd aggregate report and the
     * failure report in new/, in name order */
    assert_int_equal(w.ndocs, 3);
    assert_int_equal(w.docs[0].kind, MS_REPORT_TLSRPT);
    assert_true(strstr(w.docs[0].path, "/Maildir/.Reports/new/") != NULL);
    int agg = w.docs[1].kind == MS_REPORT_AGGREGATE ? 1 : 2;
    assert_doc_is(&w.docs[agg], MS_REPORT_AGGREGATE, "aggregate.xml");
    /* the failure report is the whole message file as the mailbox module wrote it */
    const doc_seen *failure = &w.docs[3 - agg];
    assert_int_equal(failure->kind, MS_REPORT_FAILURE);
    size_t len;
    unsigned char *file = read_file(failure->file, &len);
    assert_int_equal(failure->total, len);
    assert_memory_equal(failure->bytes, file, len);
    assert_string_equal(failure->path, failure->file);
    free(file);
    /* files: maildirfolder, dovecot-uidlist, three messages */
    assert_int_equal(w.nfiles, 5);
    assert_int_equal(w.nskips, 3);
    int loop = 0, empty = 0, other = 0;
    for (size_t i = 0; i < w.nskips; i++) {
        if (strstr(w.skip_path[i], "/cur/loop") && strstr(w.skip_reason[i], "symbolic link to a directory"))
            loop++;
        if (strstr(w.skip_path[i], "maildirfolder") && strstr(w.skip_reason[i], "not a report: empty"))
            empty++;
        if (strstr(w.skip_path[i], "dovecot-uidlist") && strstr(w.skip_reason[i], "not a report"))
            other++;
    }
    assert_int_equal(loop + empty + other, 3);
    seen_free(&w);
}

/* ---- What is not a report, and hostile input -------------------------------------- */

static void test_not_a_report(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "not-a-report.txt");
    assert_int_equal(w.ndocs, 0);
    assert_int_equal(w.nskips, 1);
    assert_origin(w.skip_path[0], "not-a-report.txt", "");
    assert_true(strncmp(w.skip_reason[0], "not a report: unrecognised content", 34) == 0);
    seen_free(&w);
}

/* A file that cannot be opened may hold reports: it is handed over as a
 * document that cannot be read, not passed over as a skip. */
static void test_missing_file(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "no-such-file.xml");
    assert_int_equal(w.ndocs, 1);
    assert_int_equal(w.nskips, 0);
    assert_origin(w.docs[0].path, "no-such-file.xml", "");
    assert_string_equal(w.docs[0].error, "cannot open: No such file or directory");
    assert_int_equal(w.docs[0].total, 0);
    seen_free(&w);
}

static void test_truncated_gzip(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "truncated.xml.gz");
    assert_int_equal(w.ndocs, 1);
    assert_non_null(w.docs[0].error);
    /* the reason alone: the origin is the caller's to put in front, once */
    assert_origin(w.docs[0].path, "truncated.xml.gz", ": truncated.xml");
    assert_true(strncmp(w.docs[0].error, "gzip data ends early (truncated)", 32) == 0);
    assert_true(w.docs[0].total > 0);
    seen_free(&w);
}

static void test_gzip_bomb(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "bomb.xml.gz"); /* 100 MiB of spaces in 100 KB */
    assert_int_equal(w.ndocs, 1);
    assert_non_null(w.docs[0].error);
    assert_origin(w.docs[0].path, "bomb.xml.gz", ": (gunzip)");
    assert_true(strncmp(w.docs[0].error, "decompressed size exceeds 1000 times the compressed size", 56) == 0);
    /* stopped soon after the first MiB, not after 100 */
    assert_true(w.docs[0].total > (1 << 20));
    assert_true(w.docs[0].total < (4 << 20));
    seen_free(&w);
}

static void test_zip_bomb(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "bomb.zip");
    assert_int_equal(w.ndocs, 2); /* after.xml is not reached: it is the second document's loss */
    assert_non_null(w.docs[0].error);
    assert_origin(w.docs[0].path, "bomb.zip", ": bomb.xml");
    assert_non_null(strstr(w.docs[0].error, "decompressed size exceeds 1000 times"));
    assert_true(w.docs[0].total < (4 << 20));
    assert_origin(w.docs[1].path, "bomb.zip", "");
    assert_string_equal(w.docs[1].error, "zip archive not read further after an entry hit a decompression limit");
    assert_int_equal(w.nskips, 0);
    seen_free(&w);
}

static void test_nesting_bombs(void **state)
{
    (void)state;
    walk_seen w = {0};
    /* the report inside is not reached, and the caller is told so: a
     * document that cannot be read, not a skip */
    walk_fixture(&w, "nest.gz"); /* 12 gzip layers */
    assert_int_equal(w.ndocs, 1);
    assert_int_equal(w.nskips, 0);
    assert_string_equal(w.docs[0].error, "gzip file nested deeper than 8 wrappers (MS_REPORT_NESTING_MAX): not read");
    assert_origin(w.docs[0].path, "nest.gz", ": layer11: layer10: layer9: layer8: layer7: layer6: layer5: layer4");
    seen_free(&w);

    walk_fixture(&w, "nest.eml"); /* 12 forwards of a message */
    assert_int_equal(w.ndocs, 1);
    assert_int_equal(w.nskips, 0);
    assert_string_equal(w.docs[0].error, "message nested deeper than 8 wrappers (MS_REPORT_NESTING_MAX): not read");
    seen_free(&w);
}

static void test_zip_entry_limit(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "many.zip"); /* 1000 notes, then a report */
    assert_int_equal(w.ndocs, 1);
    assert_int_equal(w.nskips, 0);
    assert_origin(w.docs[0].path, "many.zip", "");
    assert_string_equal(w.docs[0].error,
                        "zip archive has more than 1000 entries (MS_REPORT_ZIP_ENTRIES_MAX): the rest is not read");
    seen_free(&w);
}

static void walk_stdin_pipe(walk_seen *w, const char *name);

/* A zip cut short: the entries read whole are reports; the one cut is a
 * document that cannot be read (once: the archive's own error after it
 * is the same loss), as a cut gzip is. */
static void test_truncated_zip(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "truncated.zip");
    assert_int_equal(w.ndocs, 2);
    assert_int_equal(w.nskips, 0);
    assert_doc_is(&w.docs[0], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_origin(w.docs[1].path, "truncated.zip", ": b.xml");
    assert_non_null(w.docs[1].error);
    assert_true(strncmp(w.docs[1].error, "zip entry cannot be read", 24) == 0);
    seen_free(&w);

    walk_stdin_pipe(&w, "truncated.zip"); /* streamed from the local headers */
    assert_int_equal(w.ndocs, 2);
    assert_int_equal(w.nskips, 0);
    assert_doc_is(&w.docs[0], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_non_null(w.docs[1].error);
    seen_free(&w);

    walk_fixture(&w, "truncated-early.zip"); /* not even the first entry's header whole */
    assert_int_equal(w.ndocs, 1);
    assert_int_equal(w.nskips, 0);
    assert_non_null(w.docs[0].error);
    seen_free(&w);
}

static void test_encrypted_zip(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "encrypted.zip");
    assert_int_equal(w.ndocs, 1);
    assert_int_equal(w.nskips, 0);
    assert_origin(w.docs[0].path, "encrypted.zip", ": report.xml");
    assert_string_equal(w.docs[0].error, "encrypted zip entry: cannot be read");
    seen_free(&w);
}

/* message/feedback-report without multipart/report: inside
 * multipart/mixed, and as the whole body. The document is the message. */
static void test_failure_report_shapes(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "failure-mixed.eml");
    walk_fixture(&w, "failure-bare.eml");
    assert_int_equal(w.nskips, 0);
    assert_int_equal(w.ndocs, 2);
    assert_int_equal(w.docs[0].kind, MS_REPORT_FAILURE);
    assert_null(w.docs[0].error);
    assert_origin(w.docs[0].path, "failure-mixed.eml", "");
    assert_string_equal(w.docs[0].key, "failure-mixed@receiver.example");
    assert_int_equal(w.docs[1].kind, MS_REPORT_FAILURE);
    assert_null(w.docs[1].error);
    assert_string_equal(w.docs[1].key, "failure-bare@receiver.example");
    /* and the parser reads them */
    for (int i = 0; i < 2; i++) {
        ms_report_failure *r = NULL;
        assert_int_equal(ms_report_failure_parse(w.docs[i].bytes, w.docs[i].len, &r, NULL), MS_OK);
        assert_true(r->has_feedback_part);
        assert_string_equal(r->source_ip, "192.0.2.7");
        assert_string_equal(r->reported_domain, "example.com");
        ms_report_failure_free(r);
    }
    seen_free(&w);
}

static void test_names_that_lie(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_fixture(&w, "gzip-named.zip");
    walk_fixture(&w, "zip-named.xml");
    walk_fixture(&w, "liar.eml"); /* text/xml; name="report.xml", but gzip */
    assert_int_equal(w.ndocs, 3);
    assert_int_equal(w.nskips, 0);
    for (int i = 0; i < 3; i++)
        assert_doc_is(&w.docs[i], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_origin(w.docs[0].path, "gzip-named.zip", ": report.xml");
    assert_origin(w.docs[1].path, "zip-named.xml", ": report.xml");
    assert_origin(w.docs[2].path, "liar.eml", ": part 2 (report.xml): report.xml");
    seen_free(&w);
}

/* ---- Standard input, buffers, the caller's control ----------------------------------- */

/* Walks "-" with the fixture's bytes coming through a pipe (not seekable,
 * unlike a file: the mbox is spooled). */
static void walk_stdin_pipe(walk_seen *w, const char *name)
{
    char *path = fixture(name);
    size_t len;
    unsigned char *data = read_file(path, &len);
    free(path);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        size_t off = 0;
        while (off < len) {
            ssize_t n = write(fds[1], data + off, len - off);
            if (n <= 0)
                _exit(1);
            off += (size_t)n;
        }
        _exit(0);
    }
    close(fds[1]);
    int saved = dup(STDIN_FILENO);
    dup2(fds[0], STDIN_FILENO);
    close(fds[0]);
    const char *paths[] = {"-"};
    assert_int_equal(ms_report_walk(paths, 1, callbacks(w)), MS_OK);
    dup2(saved, STDIN_FILENO);
    close(saved);
    int status;
    waitpid(child, &status, 0);
    free(data);
}

static void test_stdin(void **state)
{
    (void)state;
    walk_seen w = {0};
    walk_stdin_pipe(&w, "report.xml.gz");
    assert_int_equal(w.ndocs, 1);
    assert_doc_is(&w.docs[0], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_string_equal(w.docs[0].path, "-: report.xml");
    assert_string_equal(w.docs[0].file, "-");
    seen_free(&w);

    walk_stdin_pipe(&w, "inbox.mbox");
    assert_int_equal(w.ndocs, 3);
    assert_string_equal(w.docs[0].path, "-: message 1 (byte 0): part 2 (report.xml.gz): report.xml");
    assert_doc_is(&w.docs[2], MS_REPORT_TLSRPT, "tlsrpt.json");
    seen_free(&w);

    walk_stdin_pipe(&w, "two.zip"); /* zip read as a stream, from the local headers */
    assert_int_equal(w.ndocs, 2);
    assert_doc_is(&w.docs[1], MS_REPORT_AGGREGATE, "aggregate-2.xml");
    seen_free(&w);
}

/* A named pipe given as a path (a shell's <(zcat ...)) is read as a stream. */
static void test_named_pipe(void **state)
{
    (void)state;
    char fifo[] = "/tmp/mailsec-walk-fifo-XXXXXX";
    assert_non_null(mkdtemp(fifo));
    char path[sizeof fifo + 8];
    snprintf(path, sizeof path, "%s/pipe", fifo);
    assert_int_equal(mkfifo(path, 0600), 0);
    char *gz = fixture("tlsrpt.json.gz");
    size_t len;
    unsigned char *data = read_file(gz, &len);
    free(gz);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        FILE *f = fopen(path, "wb");
        _exit(f != NULL && fwrite(data, 1, len, f) == len && fclose(f) == 0 ? 0 : 1);
    }
    walk_seen w = {0};
    const char *paths[] = {path};
    assert_int_equal(ms_report_walk(paths, 1, callbacks(&w)), MS_OK);
    int status;
    waitpid(child, &status, 0);
    assert_int_equal(w.ndocs, 1);
    assert_doc_is(&w.docs[0], MS_REPORT_TLSRPT, "tlsrpt.json");
    unlink(path);
    rmdir(fifo);
    free(data);
    seen_free(&w);
}

static void test_buffer(void **state)
{
    (void)state;
    walk_seen w = {0};
    char *path = fixture("base64-gzip.eml");
    size_t len;
    unsigned char *data = read_file(path, &len);
    free(path);
    assert_int_equal(ms_report_walk_buffer("imap:INBOX/42", data, len, callbacks(&w)), MS_OK);
    assert_int_equal(w.ndocs, 1);
    assert_doc_is(&w.docs[0], MS_REPORT_AGGREGATE, "aggregate.xml");
    assert_string_equal(w.docs[0].path, "imap:INBOX/42: part 2 (report.xml.gz): report.xml");
    assert_string_equal(w.docs[0].key, "agg-1@receiver.example");
    assert_int_equal(w.nfiles, 0);
    free(data);
    seen_free(&w);

    path = fixture("failure.eml");
    data = read_file(path, &len);
    free(path);
    assert_int_equal(ms_report_walk_buffer("imap:INBOX/43", data, len, callbacks(&w)), MS_OK);
    assert_int_equal(w.ndocs, 1);
    assert_doc_is(&w.docs[0], MS_REPORT_FAILURE, "failure.eml");
    free(data);
    seen_free(&w);

    assert_int_equal(ms_report_walk_buffer("empty", "", 0, callbacks(&w)), MS_OK);
    assert_int_equal(w.nskips, 1);
    assert_string_equal(w.skip_reason[0], "not a report: empty (nothing but white space)");
    seen_free(&w);
}

static void test_stop_and_unread(void **state)
{
    (void)state;
    walk_seen w = {.stop_after = 1};
    char *a = fixture("two.zip"), *b = fixture("report.xml");
    const char *paths[] = {a, b};
    assert_int_equal(ms_report_walk(paths, 2, callbacks(&w)), MS_OK);
    assert_int_equal(w.ndocs, 1); /* stopped: neither the second entry nor the second file */
    seen_free(&w);

    w = (walk_seen){.dont_read = 1};
    assert_int_equal(ms_report_walk(paths, 2, callbacks(&w)), MS_OK);
    assert_int_equal(w.ndocs, 3); /* documents left unread are passed over */
    free(a);
    free(b);
    seen_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_xml),
        cmocka_unit_test(test_gzip_xml),
        cmocka_unit_test(test_gzip_tap),
        cmocka_unit_test(test_gzip_ahead),
        cmocka_unit_test(test_zip_two_reports),
        cmocka_unit_test(test_tlsrpt_json_and_gzip),
        cmocka_unit_test(test_message_base64_gzip),
        cmocka_unit_test(test_message_inline_xml),
        cmocka_unit_test(test_message_octet_stream_zip),
        cmocka_unit_test(test_message_rfc822_nested),
        cmocka_unit_test(test_message_in_zip),
        cmocka_unit_test(test_failure_report),
        cmocka_unit_test(test_forwarded_failure_report),
        cmocka_unit_test(test_tlsrpt_message),
        cmocka_unit_test(test_message_key_digest),
        cmocka_unit_test(test_mbox),
        cmocka_unit_test(test_gzip_mbox),
        cmocka_unit_test(test_maildir),
        cmocka_unit_test(test_not_a_report),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_truncated_gzip),
        cmocka_unit_test(test_gzip_bomb),
        cmocka_unit_test(test_zip_bomb),
        cmocka_unit_test(test_nesting_bombs),
        cmocka_unit_test(test_zip_entry_limit),
        cmocka_unit_test(test_truncated_zip),
        cmocka_unit_test(test_encrypted_zip),
        cmocka_unit_test(test_failure_report_shapes),
        cmocka_unit_test(test_names_that_lie),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_named_pipe),
        cmocka_unit_test(test_buffer),
        cmocka_unit_test(test_stop_and_unread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
