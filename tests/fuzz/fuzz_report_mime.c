/* libFuzzer harness for the report walk's unwrapping (lib/report/walk.c,
 * sniff.c, inflate.c, archive.c, mime.c): arbitrary bytes are walked as
 * one fetched message would be (ms_report_walk_buffer), and every document
 * found is read to its end. Checks:
 *  - every document and skip has an origin that starts with the item's
 *    name, and a kind among the three;
 *  - a read that fails says why, and keeps failing;
 *  - a document never yields more than the limits allow (the ratio rule
 *    bounds output by MS_REPORT_RATIO_MAX times the input after the first
 *    MiB; several layers multiply, so the bound checked is the size cap);
 *  - message keys are non-empty;
 *  - the gzip tap (ms_report_doc_tap_gzip), asked for on every document,
 *    hands over a stream that starts with the gzip magic, in non-empty
 *    pieces, and only for documents it took;
 *  - the rest of the stream read ahead (ms_report_doc_gzip_ahead) is no
 *    more than asked, only for documents the tap took, and the document
 *    still reads as before.
 * Everything is freed, so LeakSanitizer sees any leak. */
#include "mailsec/report.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

#define NAME "fuzz.eml"

typedef struct tapped {
    size_t total;
    unsigned char first[2];
} tapped;

static int on_gzip(void *arg, const void *gz, size_t len)
{
    tapped *t = arg;
    CHECK(len > 0);
    for (size_t i = 0; i < len && t->total + i < 2; i++)
        t->first[t->total + i] = ((const unsigned char *)gz)[i];
    t->total += len;
    CHECK(t->total <= MS_REPORT_INFLATED_MAX); /* from a decompressed layer when nested */
    return 0;
}

enum { AHEAD_MAX = 4096 };

static int on_ahead(void *arg, const void *gz, size_t len)
{
    (void)gz;
    *(size_t *)arg += len;
    return 0;
}

static int on_document(void *arg, ms_report_doc *doc)
{
    (void)arg;
    CHECK(ms_report_doc_kind(doc) == MS_REPORT_AGGREGATE || ms_report_doc_kind(doc) == MS_REPORT_TLSRPT ||
          ms_report_doc_kind(doc) == MS_REPORT_FAILURE);
    const ms_report_origin *origin = ms_report_doc_origin(doc);
    CHECK(strcmp(origin->file, NAME) == 0);
    CHECK(strncmp(origin->path, NAME, strlen(NAME)) == 0);
    const char *key = ms_report_doc_message_key(doc);
    CHECK(key == NULL || *key != '\0');
    tapped t = {0};
    int is_gzip = ms_report_doc_tap_gzip(doc, on_gzip, &t);
    size_t ahead = 0;
    int whole_ahead = ms_report_doc_gzip_ahead(doc, AHEAD_MAX, on_ahead, &ahead);
    CHECK(ahead <= AHEAD_MAX && (is_gzip || !whole_ahead));
    static char buf[65536];
    int64_t total = 0;
    ssize_t n;
    while ((n = ms_report_doc_read(doc, buf, sizeof buf)) > 0) {
        CHECK((size_t)n <= sizeof buf);
        total += n;
        CHECK(total <= MS_REPORT_INFLATED_MAX);
    }
    if (n < 0) {
        const char *error = ms_report_doc_error(doc);
        /* the reason alone: the origin is not repeated in it */
        CHECK(error != NULL && *error != '\0' && strncmp(error, NAME, strlen(NAME)) != 0);
        CHECK(ms_report_doc_read(doc, buf, sizeof buf) == -1);
    }
    CHECK(is_gzip || t.total == 0);
    if (t.total >= 2)
        CHECK(t.first[0] == 0x1f && t.first[1] == 0x8b);
    return 0;
}

static void on_skipped(void *arg, const ms_report_origin *origin, const char *reason)
{
    (void)arg;
    CHECK(strncmp(origin->path, NAME, strlen(NAME)) == 0);
    CHECK(reason != NULL && *reason != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = fuzz_copy(data, size);
    if (copy == NULL)
        return 0;
    ms_report_walk_callbacks cb = {NULL, on_document, on_skipped, NULL, NULL};
    ms_status st = ms_report_walk_buffer(NAME, copy, size, &cb);
    CHECK(st == MS_OK || st == MS_ERR_NOMEM);
    free(copy);
    return 0;
}
