/* Many small pieces of memory that go together: a parsed record's
 * strings, a group's sums. Each piece is cut from a block of 64 KiB (a
 * larger piece gets a block of its own); ms_arena_reset lets every piece
 * go and keeps the blocks for the next round, ms_arena_free returns them.
 * One malloc per block instead of one per piece, and nothing to free one
 * by one on any path. */
#ifndef MAILSEC_LIB_CORE_ARENA_H
#define MAILSEC_LIB_CORE_ARENA_H

#include <stddef.h>

typedef struct ms_arena_block ms_arena_block;

typedef struct ms_arena {
    ms_arena_block *first, *cur; /* cur: the block pieces are cut from */
    size_t bytes;                /* held in blocks, for the caller's bounds */
} ms_arena;

#define MS_ARENA_INIT {NULL, NULL, 0}

/* n bytes, aligned for any object; NULL when memory ran out. */
void *ms_arena_alloc(ms_arena *a, size_t n);
/* The n bytes at s and a NUL after them; NULL when memory ran out. */
char *ms_arena_strndup(ms_arena *a, const char *s, size_t n);
/* Where the next piece would be cut from when the current block holds n
 * more bytes, else NULL (no block is added): a caller that builds a piece
 * of up to n bytes writes it there, and ms_arena_keep makes it a piece,
 * instead of building it elsewhere and copying it in. Any other piece cut
 * meanwhile overwrites it. */
char *ms_arena_tail(ms_arena *a, size_t n);
/* The first n bytes at ms_arena_tail's pointer become a piece (n no more
 * than it offered). */
void ms_arena_keep(ms_arena *a, size_t n);
/* Every piece gone; the blocks kept (and still counted in bytes). */
void ms_arena_reset(ms_arena *a);
/* Every piece and block gone: the arena is as MS_ARENA_INIT made it. */
void ms_arena_free(ms_arena *a);

#endif
