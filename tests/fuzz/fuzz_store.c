/* libFuzzer harness for the store (lib/store) with extreme values: the
 * bytes are a script of reports (tests/unit/store/store_extremes.h) written
 * through the store's API into a fresh in-memory SQLite store, then read
 * through every view. A write must never fail as the store's fault, a
 * count beyond MS_REPORT_COUNT_MAX must never be stored, and every view
 * must answer without wrapping. unit-store runs the same values against
 * the real PostgreSQL (the fuzz build has no server). */
#include "../unit/store/store_extremes.h"

#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_store *store = NULL;
    char *err = NULL;
    if (ms_store_open("sqlite::memory:", &store, &err) != MS_OK) {
        fprintf(stderr, "fuzz_store: cannot open the store: %s\n", err ? err : "?");
        __builtin_trap();
    }
    const char *why = extremes_run(store, data, size);
    if (why != NULL) {
        fprintf(stderr, "fuzz_store: %s (%s)\n", why, ms_store_error(store));
        __builtin_trap();
    }
    ms_store_close(store);
    return 0;
}
