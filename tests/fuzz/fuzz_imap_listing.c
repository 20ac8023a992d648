/* libFuzzer harness for the IMAP answers report fetch reads
 * (lib/ingest/imap_parse.c): EXAMINE, UID SEARCH and UID FETCH
 * (RFC822.SIZE), the input being what a server sent. Checked:
 *  - each either succeeds or refuses with a reason naming the line;
 *  - a UIDVALIDITY and every UID taken are not 0; the UIDs are ascending,
 *    each once, at most IMAP_UIDS_MAX;
 *  - a size taken fits RFC 9051's number64;
 *  - the UIDs that imap_parse_nz32 takes, printed again, are its input.
 * ASan/LSan see the rest (reads out of bounds, leaks). */
#include "ingest/imap_parse.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

/* Refused: with a reason that says where; taken: no reason. */
static void check_reason(ms_status st, char *why)
{
    CHECK(st == MS_OK || st == MS_ERR_IO || st == MS_ERR_NOMEM);
    if (st == MS_ERR_IO)
        CHECK(why != NULL && (strncmp(why, "line ", 5) == 0 || strstr(why, "UIDVALIDITY") != NULL ||
                              strstr(why, "the answer is over") != NULL));
    if (st == MS_OK)
        CHECK(why == NULL);
    free(why);
}

static void check_nz32(const uint8_t *data, size_t size)
{
    uint32_t v;
    if (size > 16 || imap_parse_nz32((const char *)data, size, &v) != NULL)
        return;
    char again[16];
    int n = snprintf(again, sizeof again, "%" PRIu32, v);
    CHECK(v != 0 && (size_t)n == size && memcmp(again, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *answer = (const char *)data;
    char *why = NULL;
    uint32_t uidvalidity = 0;
    ms_status st = imap_parse_uidvalidity(answer, size, &uidvalidity, &why);
    CHECK(st != MS_OK || uidvalidity != 0);
    check_reason(st, why);

    uint32_t *uids = NULL;
    size_t count = 0;
    why = NULL;
    st = imap_parse_search(answer, size, &uids, &count, &why);
    if (st == MS_OK) {
        CHECK(count <= IMAP_UIDS_MAX);
        for (size_t i = 0; i < count; i++)
            CHECK(uids[i] != 0 && (i == 0 || uids[i - 1] < uids[i]));
    }
    free(uids);
    check_reason(st, why);

    uint64_t message_size = 0;
    int found = 0;
    why = NULL;
    st = imap_parse_size(answer, size, 7, &message_size, &found, &why);
    CHECK(!found || message_size <= (uint64_t)INT64_MAX);
    check_reason(st, why);

    check_nz32(data, size);
    return 0;
}
