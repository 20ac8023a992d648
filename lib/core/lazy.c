/* Libraries loaded on first use (lazy.h). */
#define _GNU_SOURCE /* secure_getenv */
#include "core/lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MAILSEC_LAZY_SONAME_<KEY> replaces a library's soname: the tests load
 * one that does not exist to see what a user without the package sees.
 * Ignored in set-user-ID programs, as LD_PRELOAD is. */
static const char *soname_of(const ms_lazy_lib *lib)
{
    char var[64];
    snprintf(var, sizeof var, "MAILSEC_LAZY_SONAME_%s", lib->key);
    const char *other = secure_getenv(var);
    return other != NULL && other[0] != '\0' ? other : lib->soname;
}

static void load(ms_lazy_lib *lib)
{
    const char *soname = soname_of(lib);
    /* RTLD_LOCAL: its symbols stay out of the global scope, where they
     * could stand in for a program's own. Never closed: its addresses are
     * in the table for the rest of the process. */
    void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *why = dlerror();
        snprintf(lib->error, sizeof lib->error, "the %s could not be loaded (%s): install the package %s",
                 lib->what, why ? why : soname, lib->package);
        return;
    }
    for (size_t i = 0; i < lib->count; i++) {
        lib->slots[i] = dlsym(handle, lib->names[i]);
        if (lib->slots[i] == NULL) {
            snprintf(lib->error, sizeof lib->error,
                     "the %s (%s) has no %s: install the version of the package %s mailsec was built with",
                     lib->what, soname, lib->names[i], lib->package);
            memset(lib->slots, 0, lib->count * sizeof lib->slots[0]);
            return;
        }
    }
    /* release: a thread that sees it set sees the table (ms_lazy_slot) */
    __atomic_store_n(&lib->loaded, true, __ATOMIC_RELEASE);
}

/* One lock for every library: uncontended but for the first calls, and
 * it orders the table's writes before any thread's reads. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

ms_status ms_lazy_load(ms_lazy_lib *lib)
{
    pthread_mutex_lock(&load_lock);
    if (!lib->tried) {
        lib->tried = true;
        load(lib);
    }
    bool loaded = lib->loaded;
    pthread_mutex_unlock(&load_lock);
    return loaded ? MS_OK : MS_ERR_IO;
}

const char *ms_lazy_error(const ms_lazy_lib *lib)
{
    return lib->error;
}

const char *ms_lazy_failure(ms_lazy_lib *lib)
{
    pthread_mutex_lock(&load_lock);
    bool failed = lib->tried && !lib->loaded;
    pthread_mutex_unlock(&load_lock);
    return failed ? lib->error : NULL;
}

void ms_lazy_require(ms_lazy_lib *lib)
{
    if (ms_lazy_load(lib) == MS_OK)
        return;
    /* What the program wrote so far is kept; _Exit, not exit: other
     * threads may still be running, and no atexit handler must race them. */
    fflush(stdout);
    fprintf(stderr, "mailsec: %s\n", lib->error);
    _Exit(2);
}
