/* Pieces cut from blocks that are freed together (arena.h). */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { ARENA_BLOCK = 64 << 10 };

struct ms_arena_block {
    ms_arena_block *next;
    size_t cap, used;
    alignas(max_align_t) unsigned char data[];
};

/* A block with room for need bytes: the next one kept by a reset, else a
 * new one at the end of the list. */
static ms_arena_block *block_with_room(ms_arena *a, size_t need)
{
    while (a->cur != NULL && a->cur->next != NULL && a->cur->cap - a->cur->used < need) {
        a->cur = a->cur->next;
        a->cur->used = 0;
    }
    if (a->cur != NULL && a->cur->cap - a->cur->used >= need)
        return a->cur;
    size_t cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;
    if (cap > SIZE_MAX - sizeof(ms_arena_block))
        return NULL;
    ms_arena_block *b = malloc(sizeof *b + cap);
    if (b == NULL)
        return NULL;
    *b = (ms_arena_block){.cap = cap};
    /* after cur: blocks past it were kept by a reset and are too small */
    if (a->cur == NULL) {
        b->next = a->first;
        a->first = b;
    } else {
        b->next = a->cur->next;
        a->cur->next = b;
    }
    a->bytes += sizeof *b + cap;
    return a->cur = b;
}

/* n bytes from the arena, at an offset that is a multiple of align (a
 * power of two, at most max_align_t's). */
static void *cut(ms_arena *a, size_t n, size_t align)
{
    if (n > SIZE_MAX - align)
        return NULL;
    ms_arena_block *b = a->cur;
    size_t at = b != NULL ? (b->used + align - 1) & ~(align - 1) : 0;
    if (b == NULL || at > b->cap || b->cap - at < n) {
        if ((b = block_with_room(a, n + align - 1)) == NULL)
            return NULL;
        at = (b->used + align - 1) & ~(align - 1);
    }
    b->used = at + n;
    return b->data + at;
}

void *ms_arena_alloc(ms_arena *a, size_t n)
{
    return cut(a, n, alignof(max_align_t));
}

char *ms_arena_strndup(ms_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *copy = cut(a, n + 1, 1);
    if (copy != NULL) {
        memcpy(copy, s, n);
        copy[n] = '\0';
    }
    return copy;
}

char *ms_arena_tail(ms_arena *a, size_t n)
{
    ms_arena_block *b = a->cur;
    return b != NULL && b->cap - b->used >= n ? (char *)b->data + b->used : NULL;
}

void ms_arena_keep(ms_arena *a, size_t n)
{
    a->cur->used += n;
}

void ms_arena_reset(ms_arena *a)
{
    a->cur = a->first;
    if (a->cur != NULL)
        a->cur->used = 0;
}

void ms_arena_free(ms_arena *a)
{
    for (ms_arena_block *b = a->first, *next; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    *a = (ms_arena)MS_ARENA_INIT;
}
