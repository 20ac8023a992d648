/* Room for one more element in an array that grows as it is filled. */
#ifndef MAILSEC_LIB_CORE_GROW_H
#define MAILSEC_LIB_CORE_GROW_H

#include <stddef.h>

/* items holds count elements of size bytes in room for *cap. When it is
 * full (count == *cap), it is reallocated to twice *cap, or to first
 * elements when it has none yet, and *cap updated. Returns the array
 * (moved or not), or NULL when out of memory or when the new size would
 * not fit in a size_t: items and *cap are then as they were. */
void *ms_grow(void *items, size_t count, size_t *cap, size_t size, size_t first);

#endif
