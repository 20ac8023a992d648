/* The one way an array grows (core/grow.h). */
#include "core/grow.h"

#include <stdint.h>
#include <stdlib.h>

void *ms_grow(void *items, size_t count, size_t *cap, size_t size, size_t first)
{
    if (count < *cap)
        return items;
    size_t more = *cap ? *cap : first; /* doubles; first when empty */
    size_t max = size ? SIZE_MAX / size : 0; /* elements that fit in a size_t */
    if (*cap > max || more > max - *cap)
        return NULL;
    void *grown = realloc(items, (*cap + more) * size);
    if (grown == NULL)
        return NULL;
    *cap += more;
    return grown;
}
