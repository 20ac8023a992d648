/* ms_report_walk streams: large inputs pass through in bounded memory.
 *
 * Generated here, in a temporary directory, written as they are made:
 *   big.xml.gz   ~500 MB of aggregate-report XML (varied records, so it
 *                compresses like a real one, far below the ratio limit)
 *   big.eml      the same gzip file as a base64 attachment (GMime's decoder
 *                and zlib in one stream)
 *   many.mbox    20000 messages, each with a base64 gzip'd report (one
 *                message's structure in memory at a time)
 * Each is walked, every document read to its end and checked against what
 * was written (byte count and CRC-32), and the process's peak RSS
 * (getrusage) must stay under RSS_LIMIT. The ctest label "big" marks it:
 * it takes ~15-30 s. Sanitizer builds skip the RSS bound (shadow memory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "mailsec/report.h"

#define XML_BYTES ((int64_t)500 << 20)
#define MBOX_MESSAGES 20000
#define RSS_LIMIT_KIB (64 * 1024)

static char dir[4096];

typedef struct expect {
    uint64_t bytes;
    uLong crc;
} expect;

typedef struct got {
    unsigned docs;
    uint64_t bytes;
    uLong crc;
    int errors;
} got;

static uint32_t rng = 2463534242u;
static uint32_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* One <record> with random-looking values, into buf; its length. */
static int record(char *buf, size_t cap)
{
    uint32_t a = next_random(), b = next_random();
    return snprintf(buf, cap,
                    "  <record><row><source_ip>%u.%u.%u.%u</source_ip><count>%u</count>"
                    "<policy_evaluated><disposition>none</disposition><dkim>%s</dkim><spf>%s</spf>"
                    "</policy_evaluated></row><identifiers><header_from>d%u.example</header_from></identifiers>"
                    "<auth_results><spf><domain>s%u.example</domain><result>pass</result></spf></auth_results>"
                    "</record>\n",
                    a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, b % 100000, b & 1 ? "pass" : "fail",
                    b & 2 ? "pass" : "fail", b % 5000, a % 7000);
}

static const char HEAD[] = "<?xml version=\"1.0\"?>\n<feedback>\n  <report_metadata><org_name>big</org_name>"
                           "<report_id>1</report_id></report_metadata>\n";
static const char TAIL[] = "</feedback>\n";

/* Writes a gzip'd report of at least size bytes to path. */
static expect write_report_gz(const char *path, int64_t size)
{
    gzFile gz = gzopen(path, "wb1");
    assert_non_null(gz);
    expect e = {0, crc32(0, Z_NULL, 0)};
    char chunk[65536];
    size_t used = 0;
    memcpy(chunk, HEAD, sizeof HEAD - 1);
    used = sizeof HEAD - 1;
    while ((int64_t)e.bytes + (int64_t)used < size) {
        used += (size_t)record(chunk + used, sizeof chunk - used);
        if (used > sizeof chunk - 1024) {
            assert_int_equal(gzwrite(gz, chunk, (unsigned)used), (int)used);
            e.crc = crc32(e.crc, (const Bytef *)chunk, (uInt)used);
            e.bytes += used;
            used = 0;
        }
    }
    memcpy(chunk + used, TAIL, sizeof TAIL - 1);
    used += sizeof TAIL - 1;
    assert_int_equal(gzwrite(gz, chunk, (unsigned)used), (int)used);
    e.crc = crc32(e.crc, (const Bytef *)chunk, (uInt)used);
    e.bytes += used;
    assert_int_equal(gzclose(gz), Z_OK);
    return e;
}

/* RFC 4648 base64, 76 characters a line, from in to out. */
static void base64_file(FILE *in, FILE *out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char block[57];
    size_t n;
    while ((n = fread(block, 1, sizeof block, in)) > 0) {
        for (size_t i = 0; i < n; i += 3) {
            uint32_t v = (uint32_t)block[i] << 16 | (i + 1 < n ? (uint32_t)block[i + 1] << 8 : 0) |
                         (i + 2 < n ? block[i + 2] : 0);
            fputc(alphabet[v >> 18], out);
            fputc(alphabet[(v >> 12) & 63], out);
            fputc(i + 1 < n ? alphabet[(v >> 6) & 63] : '=', out);
            fputc(i + 2 < n ? alphabet[v & 63] : '=', out);
        }
        fputc('\n', out);
    }
}

static void write_message(FILE *out, const char *gz_path, unsigned n)
{
    fprintf(out,
            "From: reports@receiver.example\nTo: dmarc@example.com\nSubject: Report %u\n"
            "Message-ID: <big-%u@receiver.example>\nMIME-Version: 1.0\n"
            "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nReport attached.\n"
            "--b\nContent-Type: application/gzip; name=\"report.xml.gz\"\nContent-Transfer-Encoding: base64\n\n",
            n, n);
    FILE *in = fopen(gz_path, "rb");
    assert_non_null(in);
    base64_file(in, out);
    fclose(in);
    fprintf(out, "--b--\n");
}

static int on_document(void *arg, ms_report_doc *doc)
{
    got *g = arg;
    static char buf[1 << 16];
    ssize_t n;
    g->docs++;
    while ((n = ms_report_doc_read(doc, buf, sizeof buf)) > 0) {
        g->bytes += (uint64_t)n;
        g->crc = crc32(g->crc, (const Bytef *)buf, (uInt)n);
    }
    if (n < 0) {
        print_error("%s\n", ms_report_doc_error(doc));
        g->errors++;
    }
    return 0;
}

static void on_skipped(void *arg, const ms_report_origin *origin, const char *reason)
{
    got *g = arg;
    print_error("skipped %s: %s\n", origin->path, reason);
    g->errors++;
}

static got walk(const char *name)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    got g = {0, 0, crc32(0, Z_NULL, 0), 0};
    ms_report_walk_callbacks cb = {&g, on_document, on_skipped, NULL, NULL};
    const char *paths[] = {path};
    assert_int_equal(ms_report_walk(paths, 1, &cb), MS_OK);
    return g;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void check_rss(const char *what)
{
    long kib = peak_rss_kib();
    print_message("%s: peak RSS %ld KiB\n", what, kib);
#ifndef WALK_NO_RSS_CHECK
    assert_true(kib < RSS_LIMIT_KIB);
#endif
}

static void test_big_gzip_report(void **state)
{
    (void)state;
    char path[8192];
    snprintf(path, sizeof path, "%s/big.xml.gz", dir);
    expect e = write_report_gz(path, XML_BYTES);
    got g = walk("big.xml.gz");
    assert_int_equal(g.docs, 1);
    assert_int_equal(g.errors, 0);
    assert_int_equal(g.bytes, e.bytes);
    assert_int_equal(g.crc, e.crc);
    check_rss("500 MB gzip'd report");

    /* the same, as a base64 attachment */
    char eml[8192];
    snprintf(eml, sizeof eml, "%s/big.eml", dir);
    FILE *out = fopen(eml, "wb");
    assert_non_null(out);
    write_message(out, path, 1);
    fclose(out);
    unlink(path);
    g = walk("big.eml");
    assert_int_equal(g.docs, 1);
    assert_int_equal(g.errors, 0);
    assert_int_equal(g.bytes, e.bytes);
    assert_int_equal(g.crc, e.crc);
    check_rss("the same in a base64 attachment");
    unlink(eml);
}

static void test_many_message_mbox(void **state)
{
    (void)state;
    char gz[8192], mbox[8192];
    snprintf(gz, sizeof gz, "%s/small.xml.gz", dir);
    snprintf(mbox, sizeof mbox, "%s/many.mbox", dir);
    expect e = write_report_gz(gz, 4096);
    FILE *out = fopen(mbox, "wb");
    assert_non_null(out);
    for (unsigned i = 1; i <= MBOX_MESSAGES; i++) {
        fprintf(out, "From reports@receiver.example Fri Nov 27 10:00:00 2026\n");
        write_message(out, gz, i);
        fputc('\n', out);
    }
    fclose(out);
    got g = walk("many.mbox");
    assert_int_equal(g.docs, MBOX_MESSAGES);
    assert_int_equal(g.errors, 0);
    assert_int_equal(g.bytes, e.bytes * MBOX_MESSAGES);
    check_rss("mbox of 20000 messages");
    unlink(gz);
    unlink(mbox);
}

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mailsec-walk-big-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

/* Removes what a failed test left behind, then the directory. */
static int teardown(void **state)
{
    (void)state;
    static const char *const names[] = {"big.xml.gz", "big.eml", "small.xml.gz", "many.mbox"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_big_gzip_report),
        cmocka_unit_test(test_many_message_mbox),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
