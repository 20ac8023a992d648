/* For the build's host tools (core/gen_diag_texts.c,
 * src/options/gen_cli_options.c): a source file read whole. */
#ifndef MAILSEC_GEN_READ_H
#define MAILSEC_GEN_READ_H

#include <stddef.h>

/* PATH's bytes and a NUL after them, malloc'd; the tool stops (exit 1, the
 * reason on stderr) when the file cannot be read or is over max_bytes. */
char *gen_read_all(const char *path, size_t max_bytes);

#endif
