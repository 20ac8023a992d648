/* libFuzzer harness for ARC's parsers (RFC 8617): arbitrary bytes are
 * parsed as an ARC-Message-Signature value and as an ARC-Seal value (the
 * tag-list, i= instance, cv=), then split as a message whose header fields
 * are gathered into ARC sets (instances, duplicates, missing fields, the
 * cv= chain), and for a chain that holds, the data each seal signs is
 * built. Everything is freed, so LeakSanitizer sees any leak. */
#include "dkim/internal.h"
#include "mailsec/dkim.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_decode.h"

static void parse_value(dk_kind kind, const char *text, size_t len)
{
    ms_dkim_signature *sig = NULL;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    unsigned instance = 0;
    dk_arc_cv cv = DK_CV_MISSING;
    ms_status st = dk_arc_signature_parse(kind, text, len, "ARC", &sig, &instance, &cv, &diags);
    if (st == MS_OK) {
        if (instance > MS_DKIM_ARC_MAX_INSTANCES || cv > DK_CV_MISSING)
            __builtin_trap();
        /* a usable one has what verifying it needs, and no DKIM AUID */
        if (sig->usable && (sig->d == NULL || sig->s == NULL || sig->b == NULL || instance == 0 ||
                            sig->i != NULL || sig->alg == MS_DKIM_ALG_UNKNOWN))
            __builtin_trap();
        if (sig->usable && kind == DK_ARC_SEAL && (cv == DK_CV_MISSING || sig->h_count != 0))
            __builtin_trap();
        if (sig->usable && kind == DK_ARC_MESSAGE_SIGNATURE && (sig->bh == NULL || sig->h_count == 0))
            __builtin_trap();
    } else if (st != MS_ERR_LIMIT) {
        __builtin_trap();
    }
    ms_dkim_signature_free(sig);
    ms_diag_list_free(&diags);
}

static void gather(const char *data, size_t size)
{
    static dk_field fields[FUZZ_FIELDS_MAX];
    ms_buf buf = MS_BUF_INIT;
    size_t count = fuzz_keep_fields(data, size, &buf, fields);
    if (buf.failed) {
        ms_buf_free(&buf);
        return;
    }
    dk_arc arc;
    memset(&arc, 0, sizeof arc);
    if (dk_arc_gather(&arc, fields, count) == MS_OK && arc.failure == NULL && arc.highest > 0) {
        /* a chain that holds: complete sets 1..N, the newest message
         * signature and N seals to verify, and the data each seal signs */
        if (arc.highest > MS_DKIM_ARC_MAX_INSTANCES || arc.check_count != arc.highest + 1u)
            __builtin_trap();
        for (unsigned i = 1; i <= arc.highest; i++) {
            const dk_arc_set *s = &arc.sets[i];
            if (s->results == NULL || s->message_signature == NULL || s->seal == NULL)
                __builtin_trap();
            ms_buf data_signed = MS_BUF_INIT;
            dk_arc_seal_data(&arc, i, &data_signed);
            ms_buf_free(&data_signed);
        }
    }
    dk_arc_free(&arc);
    ms_buf_free(&buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_value(DK_ARC_MESSAGE_SIGNATURE, (const char *)data, size);
    parse_value(DK_ARC_SEAL, (const char *)data, size);
    gather((const char *)data, size);
    return 0;
}
