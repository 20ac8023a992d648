/* libFuzzer harness: the DNS record decoder (lib/dns/decode.c), which reads
 * RDATA that any name server on the path may have written.
 *
 * Input: one byte choosing the RR type (TXT, MX, A, AAAA, CNAME, NS, PTR or
 * an unknown type), then records as a 2-byte big-endian length followed by
 * that many bytes of RDATA, as libunbound hands them over. */
#include "dns/dns_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_decode.h"
#include <unbound.h>

enum { MAX_RECORDS = 64 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint16_t type = fuzz_rdata_type(data[0]);
    char *rdata[MAX_RECORDS + 1] = {0};
    int lens[MAX_RECORDS + 1] = {0};
    size_t n = fuzz_rdata_records(data, size, rdata, lens, MAX_RECORDS);
    struct ub_result result = fuzz_rdata_result(type, rdata, lens, n);

    ms_dns_answer *answer = ms_dns_answer_new("fuzz.example", type, MS_DNS_NOERROR);
    if (answer != NULL) {
        ms_dns_decode_records(answer, &result);
        ms_dns_answer_free(answer);
    }
    for (size_t i = 0; i < n; i++)
        free(rdata[i]);
    /* names on their own, too */
    char *name = NULL;
    (void)ms_dns_name_from_wire(data + 1, size - 1, &name);
    free(name);
    return 0;
}
