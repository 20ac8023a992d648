/* A source file read whole, for the build's host tools (gen_read.h). */
#include "gen_read.h"

#include <stdio.h>
#include <stdlib.h>

char *gen_read_all(const char *path, size_t max_bytes)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    char *text = malloc(max_bytes + 1);
    size_t n = text ? fread(text, 1, max_bytes + 1, f) : 0;
    if (text == NULL || ferror(f) || n > max_bytes) {
        fprintf(stderr, "%s: cannot read it whole (at most %zu bytes)\n", path, max_bytes);
        exit(1);
    }
    fclose(f);
    text[n] = '\0';
    return text;
}
