/* The IMAP answers report fetch reads (lib/ingest/imap_parse.c): UIDs and
 * UIDVALIDITY range-checked, and the EXAMINE, UID SEARCH and UID FETCH
 * answers read with distrust. The good answers are Dovecot's, as the mail
 * test bed's sends them; the bad ones are what a broken or hostile server
 * could send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ingest/imap_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reason imap_parse_nz32 gives for text, or NULL; *out set when NULL. */
static const char *nz32(const char *text, uint32_t *out)
{
    return imap_parse_nz32(text, strlen(text), out);
}

static void uids_in_range(void **state)
{
    (void)state;
    uint32_t v = 0;
    assert_null(nz32("1", &v));
    assert_int_equal(v, 1);
    assert_null(nz32("4294967295", &v));
    assert_int_equal(v, UINT32_MAX);
    assert_null(nz32("3857529045", &v));
    assert_int_equal(v, 3857529045u);
}

/* Each refused with its reason: no value is cut to 32 bits or read as 0. */
static void uids_out_of_range_or_garbage(void **state)
{
    (void)state;
    uint32_t v = 7;
    assert_string_equal(nz32("0", &v), "zero");
    assert_string_equal(nz32("4294967296", &v), "larger than 4294967295");
    assert_string_equal(nz32("99999999999999999999999", &v), "larger than 4294967295");
    assert_string_equal(nz32("-1", &v), "a sign");
    assert_string_equal(nz32("+5", &v), "a sign");
    assert_string_equal(nz32("", &v), "empty");
    assert_string_equal(nz32("12abc", &v), "not a number");
    assert_string_equal(nz32(" 12", &v), "not a number");
    assert_string_equal(nz32("0x10", &v), "not a number");
    assert_string_equal(nz32("007", &v), "a leading zero");
    assert_int_equal(v, 7); /* untouched */
}

static ms_status uidvalidity(const char *answer, uint32_t *out, char **why)
{
    return imap_parse_uidvalidity(answer, strlen(answer), out, why);
}

static const char DOVECOT_EXAMINE[] =
    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
    "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n"
    "* 3 EXISTS\r\n"
    "* 0 RECENT\r\n"
    "* OK [UIDVALIDITY 1796569866] UIDs valid\r\n"
    "* OK [UIDNEXT 4] Predicted next UID\r\n"
    "* OK [HIGHESTMODSEQ 5] Highest\r\n";

static void examine_answer(void **state)
{
    (void)state;
    uint32_t v = 0;
    char *why = NULL;
    assert_int_equal(uidvalidity(DOVECOT_EXAMINE, &v, &why), MS_OK);
    assert_int_equal(v, 1796569866u);
    assert_null(why);
}

/* The reason for a refused answer, checked and freed (a pointer: the
 * parser's call sets it among the same arguments). */
static void assert_refused(ms_status st, char **why, const char *reason)
{
    assert_int_equal(st, MS_ERR_IO);
    assert_non_null(*why);
    if (strstr(*why, reason) == NULL)
        fail_msg("\"%s\" does not say \"%s\"", *why, reason);
    free(*why);
    *why = NULL;
}

static void examine_answer_refused(void **state)
{
    (void)state;
    uint32_t v = 0;
    char *why = NULL;
    assert_refused(uidvalidity("* OK [UIDVALIDITY 0] x\r\n", &v, &why), &why, "line 1 of the answer: the UIDVALIDITY is zero");
    assert_refused(uidvalidity("* OK [UIDVALIDITY 4294967296] x\r\n", &v, &why), &why, "larger than 4294967295");
    assert_refused(uidvalidity("* OK [UIDVALIDITY -3] x\r\n", &v, &why), &why, "a sign");
    assert_refused(uidvalidity("* OK [UIDVALIDITY 12 x\r\n", &v, &why), &why, "closing");
    assert_refused(uidvalidity("* OK [UIDNEXT 4] x\r\n", &v, &why), &why, "named no UIDVALIDITY");
    /* named only inside another answer: not taken from there */
    assert_refused(uidvalidity("* FLAGS (x [UIDVALIDITY 5])\r\n", &v, &why), &why, "named no UIDVALIDITY");
    assert_refused(uidvalidity("* OK [UIDVALIDITY 5] a\r\n* OK [UIDVALIDITY 6] b\r\n", &v, &why), &why,
                   "line 2 of the answer: a second, different UIDVALIDITY");
    assert_refused(uidvalidity("* OK [UIDVALIDITY 5] a\r\nhello\r\n", &v, &why), &why,
                   "line 2 of the answer: not an untagged answer");
    assert_refused(uidvalidity("* OK [UIDVALIDITY 5] a\r\n* SEARCH 1\r\n", &v, &why), &why,
                   "not an answer EXAMINE can have");
    assert_refused(uidvalidity("* OK [UIDVALIDITY 5] a\r\n* 3 GARBAGE\r\n", &v, &why), &why,
                   "not an answer this command can have");
    assert_refused(uidvalidity("* OK [UIDVALIDITY 5] a", &v, &why), &why, "in the middle of a line");
    static const char nul[] = "* OK [UIDVALIDITY 5] a\0b\r\n";
    assert_refused(imap_parse_uidvalidity(nul, sizeof nul - 1, &v, &why), &why, "a NUL byte");
}

/* Lines are bounded: a line over IMAP_LINE_MAX is refused, whatever it is. */
static void long_line_refused(void **state)
{
    (void)state;
    size_t len = IMAP_LINE_MAX + 100;
    char *line = malloc(len + 1);
    memcpy(line, "* OK ", 5);
    memset(line + 5, 'x', len - 7);
    memcpy(line + len - 2, "\r\n", 3);
    uint32_t v;
    char *why = NULL;
    assert_refused(imap_parse_uidvalidity(line, len, &v, &why), &why, "longer than 65536 bytes");
    free(line);
}

static ms_status search(const char *answer, uint32_t **uids, size_t *count, char **why)
{
    return imap_parse_search(answer, strlen(answer), uids, count, why);
}

static void search_answer(void **state)
{
    (void)state;
    uint32_t *uids = NULL;
    size_t count = 0;
    char *why = NULL;
    /* unsolicited news between, UIDs out of order and repeated */
    assert_int_equal(search("* 4 EXISTS\r\n* SEARCH 9 2 4294967295 2\r\n* 1 FETCH (FLAGS (\\Seen))\r\n"
                            "* FLAGS (\\Seen $Forwarded)\r\n* CAPABILITY IMAP4rev1\r\n", &uids,
                            &count, &why),
                     MS_OK);
    assert_int_equal(count, 3);
    assert_int_equal(uids[0], 2);
    assert_int_equal(uids[1], 9);
    assert_int_equal(uids[2], UINT32_MAX);
    free(uids);
    uids = NULL;
    assert_int_equal(search("* SEARCH\r\n", &uids, &count, &why), MS_OK);
    assert_int_equal(count, 0);
    free(uids);
    uids = NULL;
    assert_int_equal(search("", &uids, &count, &why), MS_OK);
    assert_int_equal(count, 0);
    free(uids);
}

static void search_answer_refused(void **state)
{
    (void)state;
    uint32_t *uids = NULL;
    size_t count = 0;
    char *why = NULL;
    assert_refused(search("* SEARCH 1 0 3\r\n", &uids, &count, &why), &why, "line 1 of the answer: a UID that is zero");
    assert_refused(search("* SEARCH 4294967296\r\n", &uids, &count, &why), &why, "larger than 4294967295");
    assert_refused(search("* SEARCH 1 -2\r\n", &uids, &count, &why), &why, "a sign");
    assert_refused(search("* SEARCH 1 2x\r\n", &uids, &count, &why), &why, "not a number");
    assert_refused(search("* SEARCH 1  2\r\n", &uids, &count, &why), &why, "a UID that is empty");
    assert_refused(search("* OK fine\r\n* FLAGS (\\Seen)\r\n* LIST () \"/\" INBOX\r\n", &uids, &count, &why),
                   &why, "line 3 of the answer: not an answer this command can have");
    assert_refused(search("* SEARCH 1\r\n+ go ahead\r\n", &uids, &count, &why), &why, "not an untagged answer");
    assert_refused(search("* SEARCHING 1\r\n", &uids, &count, &why), &why, "not an answer this command can have");
    assert_null(uids);
}

/* The count of UIDs is bounded (a listing of more is refused, not cut). */
static void search_count_bounded(void **state)
{
    (void)state;
    size_t n = (size_t)IMAP_UIDS_MAX + 1;
    char *answer = malloc(10 + n * 8 + 3);
    size_t len = (size_t)sprintf(answer, "* SEARCH");
    for (size_t i = 1; i <= n; i++)
        len += (size_t)sprintf(answer + len, " %zu", i);
    len += (size_t)sprintf(answer + len, "\r\n");
    uint32_t *uids = NULL;
    size_t count = 0;
    char *why = NULL;
    assert_refused(imap_parse_search(answer, len, &uids, &count, &why), &why, "more than 1000000 messages");
    assert_null(uids);
    free(answer);
}

static ms_status size(const char *answer, uint32_t uid, uint64_t *out, int *found, char **why)
{
    return imap_parse_size(answer, strlen(answer), uid, out, found, why);
}

static void size_answer(void **state)
{
    (void)state;
    uint64_t n = 0;
    int found = 0;
    char *why = NULL;
    assert_int_equal(size("* 2 FETCH (UID 7 RFC822.SIZE 70000123)\r\n", 7, &n, &found, &why), MS_OK);
    assert_true(found);
    assert_int_equal(n, 70000123);
    /* another message's flag change first; items in another order, a list */
    assert_int_equal(size("* 1 FETCH (FLAGS (\\Seen \\Recent) UID 3)\r\n"
                          "* 2 FETCH (RFC822.SIZE 812 MODSEQ (4) UID 7)\r\n",
                          7, &n, &found, &why),
                     MS_OK);
    assert_true(found);
    assert_int_equal(n, 812);
    /* RFC 9051's number64 */
    assert_int_equal(size("* 2 FETCH (UID 7 RFC822.SIZE 9223372036854775807)\r\n", 7, &n, &found, &why), MS_OK);
    assert_int_equal(n, INT64_MAX);
    /* no line about it: gone since the listing */
    assert_int_equal(size("* 5 EXPUNGE\r\n", 7, &n, &found, &why), MS_OK);
    assert_false(found);
}

static void size_answer_refused(void **state)
{
    (void)state;
    uint64_t n = 0;
    int found = 0;
    char *why = NULL;
    assert_refused(size("* 2 FETCH (UID 7 RFC822.SIZE 9223372036854775808)\r\n", 7, &n, &found, &why), &why,
                   "an RFC822.SIZE that is too large");
    assert_refused(size("* 2 FETCH (UID 7 RFC822.SIZE -1)\r\n", 7, &n, &found, &why), &why, "a sign");
    assert_refused(size("* 2 FETCH (UID 0 RFC822.SIZE 5)\r\n", 7, &n, &found, &why), &why, "a UID that is zero");
    assert_refused(size("* 2 FETCH (UID 7 RFC822.SIZE 5\r\n", 7, &n, &found, &why), &why, "not in parentheses");
    assert_refused(size("* 2 FETCH (UID 7 RFC822.SIZE)\r\n", 7, &n, &found, &why), &why, "without its value");
    assert_refused(size("* 2 FETCH (UID 7 BODY[] {5}\r\n", 7, &n, &found, &why), &why, "not in parentheses");
    assert_refused(size("* 2 FETCH (UID 7 ENVELOPE (\"a\" (b)))\r\n", 7, &n, &found, &why), &why,
                   "a nested or unclosed list");
    assert_refused(size("* 0 FETCH (UID 7 RFC822.SIZE 5)\r\n", 7, &n, &found, &why), &why,
                   "not an answer this command can have");
    assert_refused(size("* 2 FETCH (UID 7 RFC822.SIZE 5)\r\n* 2 FETCH (UID 7 RFC822.SIZE 6)\r\n", 7, &n, &found,
                        &why),
                   &why, "line 2 of the answer: a second, different RFC822.SIZE");
    assert_refused(size("* SEARCH 7\r\n", 7, &n, &found, &why), &why, "not an answer UID FETCH can have");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uids_in_range),
        cmocka_unit_test(uids_out_of_range_or_garbage),
        cmocka_unit_test(examine_answer),
        cmocka_unit_test(examine_answer_refused),
        cmocka_unit_test(long_line_refused),
        cmocka_unit_test(search_answer),
        cmocka_unit_test(search_answer_refused),
        cmocka_unit_test(search_count_bounded),
        cmocka_unit_test(size_answer),
        cmocka_unit_test(size_answer_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
