/* nullmilter: a libmilter milter that does no work (every step continues,
 * the end of the message accepts). bench/milter/run.sh drives it with
 * mdrive to show the ceiling of the driver and of libmilter's own
 * connection handling (a thread per connection), the part of any
 * libmilter-based milter that costs the same for mailsec, OpenDKIM and
 * OpenDMARC. A benchmark tool, not part of mailsec.
 *
 *   nullmilter inet:PORT@ADDR|unix:/PATH */
#include <libmilter/mfapi.h>
#include <stdio.h>

static sfsistat on_eom(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_ACCEPT;
}

static struct smfiDesc filter = {
    .xxfi_name = "null",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS,
    .xxfi_eom = on_eom,
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: nullmilter inet:PORT@ADDR|unix:/PATH\n", stderr);
        return 2;
    }
    if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(filter) != MI_SUCCESS ||
        smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "nullmilter: cannot listen on %s\n", argv[1]);
        return 2;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 2;
}
