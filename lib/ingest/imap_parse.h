/* The IMAP server's answers that report fetch (imap.c) reads, parsed with
 * distrust: the server may be broken or hostile. Every line is bounded,
 * the count of UIDs too, every number is range-checked, and a line that is
 * not an answer the command can have (RFC 3501 section 7: its own answer
 * or what a server may send at any time: a status, EXISTS, RECENT,
 * EXPUNGE, FETCH, FLAGS or CAPABILITY) is
 * refused with its line number and the reason. curl hands over the
 * untagged lines ("* ...") of a command's answer, each with its line end.
 *
 * The functions return MS_OK, MS_ERR_IO with *why (caller frees) saying
 * what was wrong and on which line, or MS_ERR_NOMEM. */
#ifndef MAILSEC_LIB_INGEST_IMAP_PARSE_H
#define MAILSEC_LIB_INGEST_IMAP_PARSE_H

#include "mailsec/core.h"

#include <stddef.h>
#include <stdint.h>

enum {
    IMAP_LINE_MAX = 64 << 10,  /* bytes of a line, but the one SEARCH line */
    IMAP_LISTING_MAX = 16 << 20, /* bytes of a whole answer (UID SEARCH: ~1.6 M UIDs) */
    IMAP_UIDS_MAX = 1000000    /* UIDs taken from one listing */
};

/* An nz-number (RFC 3501 section 9) that fits 32 bits: a UID or a
 * UIDVALIDITY. NULL when text[0, len) is one, else why not ("empty",
 * "not a number", "zero", "a leading zero", "larger than 4294967295"). */
const char *imap_parse_nz32(const char *text, size_t len, uint32_t *out);

/* EXAMINE's answer: the one "* OK [UIDVALIDITY n]". */
ms_status imap_parse_uidvalidity(const char *answer, size_t len, uint32_t *out, char **why);

/* UID SEARCH's answer: the "* SEARCH n..." UIDs, ascending, each once
 * (*uids: caller frees; NULL when there are none). */
ms_status imap_parse_search(const char *answer, size_t len, uint32_t **uids, size_t *count, char **why);

/* UID FETCH uid (RFC822.SIZE)'s answer: the message's size. A FETCH line
 * about another message (an unsolicited flag change) is passed over.
 * *found 0: no line about this UID (the message is gone: expunged since
 * the listing). */
ms_status imap_parse_size(const char *answer, size_t len, uint32_t uid, uint64_t *size, int *found,
                          char **why);

#endif
