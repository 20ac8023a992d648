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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ms_status st;
    ms_dns_answer_free(fuzz_rdata_decode(data, size, &st));
    /* names on their own, too */
    char *name = NULL;
    (void)ms_dns_name_from_wire(data + 1, size - 1, &name);
    free(name);
    return 0;
}
