/* The NFC quick check of lib/email/check.c (em_nfc_stable,
 * em_nfc_quick): every code point it calls stable must be, by
 * libunistring's Unicode data: canonical combining class 0, its own NFC,
 * and never the second element of a canonical composition pair (so no
 * neighbour can combine with it). A string of stable code points is then
 * its own NFC, which is checked on strings built from them, and decomposed
 * input must be refused by the quick check. Nearly every code point is
 * stable: ordinary text of any script is known to be in NFC without
 * normalising it. */
#include "email/email_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uninorm.h>
#include <unictype.h>
#include <unistr.h>

#include "unit/check.h"

int main(void)
{
    static unsigned char second[0x110000];
    for (ucs4_t cp = 0; cp < 0x110000; cp++) {
        ucs4_t pair[UC_DECOMPOSITION_MAX_LENGTH];
        if ((cp < 0xD800 || cp > 0xDFFF) && uc_canonical_decomposition(cp, pair) == 2)
            second[pair[1]] = 1;
    }
    long stable = 0;
    for (ucs4_t cp = 0x80; cp < 0x110000; cp++) {
        if (!em_nfc_stable(cp))
            continue;
        stable++;
        uint8_t one[4], out[16];
        int n = u8_uctomb(one, cp, sizeof one);
        size_t len = sizeof out;
        uint8_t *nfc = u8_normalize(UNINORM_NFC, one, (size_t)n, out, &len);
        CHECK(nfc != NULL && len == (size_t)n && memcmp(nfc, one, len) == 0, "U+%04X: NFC changes it", cp);
        if (nfc != NULL && nfc != out)
            free(nfc);
        CHECK(uc_combining_class(cp) == 0, "U+%04X: combining class %d", cp, uc_combining_class(cp));
        CHECK(!second[cp], "U+%04X: the second of a composition pair", cp);
    }
    /* every script's letters, not a list of the common ones: the
     * quick check must not send ordinary text to the normaliser */
    CHECK(stable > 1000000, "only %ld stable code points", stable);
    /* katakana's prolonged sound mark, a Hangul syllable, a Devanagari
     * letter: in NFC, known without normalising */
    CHECK(em_nfc_quick((const unsigned char *)"\xE3\x83\xA6\xE3\x83\xBC\xE3\x82\xB6\xE3\x83\xBC@x.jp", 17),
          "U+30FC not taken as NFC");
    CHECK(em_nfc_quick((const unsigned char *)"\xEA\xB0\x80\xE0\xA4\x95@x.kr", 11), "U+AC00 U+0915 not taken as NFC");
    /* an LV syllable and a final jamo compose: not NFC */
    CHECK(!em_nfc_quick((const unsigned char *)"\xEA\xB0\x80\xE1\x86\xA8@x.kr", 11), "U+AC00 U+11A8 taken as NFC");
    /* decomposed text is not taken as NFC; composed text is */
    CHECK(!em_nfc_quick((const unsigned char *)"jose\xCC\x81@example.com", 15), "e + U+0301 taken as NFC");
    CHECK(em_nfc_quick((const unsigned char *)"jos\xC3\xA9@example.com", 14), "U+00E9 not taken as NFC");
    CHECK(!em_nfc_quick((const unsigned char *)"\xCD\xBE@x.com", 8), "U+037E (NFC: \";\") taken as NFC");
    CHECK(!em_nfc_quick((const unsigned char *)"\xFF@x.com", 7), "a byte that is not UTF-8 taken as NFC");
    printf("%ld stable code points, %d failures\n", stable, failures);
    return failures ? 1 : 0;
}
