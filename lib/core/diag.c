#include "internal.h"
#include "core/grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ms_status ms_diag_addv(ms_diag_list *list, const ms_diag_def *def, const char *location,
                       long offset, const char *fmt, va_list ap)
{
    if (list == NULL || def == NULL || fmt == NULL)
        return MS_ERR_INVALID;
    /* definitions come from the modules' tables, each with a code the
     * catalogue documents */
    MS_ASSERT(def->code != NULL && def->summary != NULL);
    MS_ASSERT(list->count <= list->capacity);
    ms_diag *items = ms_grow(list->items, list->count, &list->capacity, sizeof *items, 8);
    if (items == NULL)
        return MS_ERR_NOMEM;
    list->items = items;
    char *message = ms_vasprintf(fmt, ap);
    char *where = location ? ms_strdup(location) : NULL;
    if (message == NULL || (location != NULL && where == NULL)) {
        free(message);
        free(where);
        return MS_ERR_NOMEM;
    }
    list->items[list->count++] = (ms_diag){def, message, where, offset};
    return MS_OK;
}

ms_status ms_diag_add(ms_diag_list *list, const ms_diag_def *def, const char *location,
                      long offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ms_status status = ms_diag_addv(list, def, location, offset, fmt, ap);
    va_end(ap);
    return status;
}

void ms_diag_list_free(ms_diag_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].message);
        free(list->items[i].location);
    }
    free(list->items);
    *list = (ms_diag_list)MS_DIAG_LIST_INIT;
}

ms_status ms_diag_list_move(ms_diag_list *dst, ms_diag_list *src)
{
    size_t need = dst->count + src->count;
    if (need > dst->capacity) {
        ms_diag *grown = realloc(dst->items, need * sizeof *grown);
        if (grown == NULL)
            return MS_ERR_NOMEM;
        dst->items = grown;
        dst->capacity = need;
    }
    if (src->count > 0)
        memcpy(dst->items + dst->count, src->items, src->count * sizeof *src->items);
    dst->count = need;
    free(src->items);
    *src = (ms_diag_list)MS_DIAG_LIST_INIT;
    return MS_OK;
}

size_t ms_diag_count(const ms_diag_list *list, ms_severity severity)
{
    size_t n = 0;
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].def->severity == severity)
            n++;
    return n;
}

int ms_diag_worst(const ms_diag_list *list)
{
    int worst = -1;
    for (size_t i = 0; i < list->count; i++)
        if ((int)list->items[i].def->severity > worst)
            worst = (int)list->items[i].def->severity;
    return worst;
}

int ms_diag_has(const ms_diag_list *list, const char *code)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].def->code, code) == 0)
            return 1;
    return 0;
}
