/* Libraries loaded on first use.
 *
 * Most commands need neither PostgreSQL nor HTTPS nor MIME nor archives,
 * yet linking libpq, libcurl, GMime, libarchive and ldns (and, in the
 * command, libmicrohttpd) loads some fifty shared libraries at every
 * start. So these are not linked: the first call that needs one loads it
 * with dlopen, by the soname the build was made against
 * (mailsec_lazy_library in the top CMakeLists.txt), and looks up the
 * functions the code calls, once, for all threads.
 *
 * One header per library (lazy_pq.h, lazy_curl.h, ...) includes the
 * library's own header, lists the names the code uses and turns each name
 * into a look-up in the library's table of addresses:
 *
 *     #define PQexec MS_LAZY(ms_pq, PQexec)
 *
 * so code written against the library's API is unchanged: it includes the
 * lazy header instead of the library's. Its entry points call
 * ms_lazy_load() before the first call, to return the error when the
 * library is missing; a call that finds the library not loaded yet loads
 * it first (ms_lazy_slot), so no path can call through an empty table, and
 * when it cannot be loaded there the process ends with status 2 and the
 * message (as a missing linked library would stop it from starting).
 * A name used but not listed is an undefined symbol at link time, since the
 * library is not linked (the link uses --no-undefined): the build says so,
 * and lib/core/lazy_add.py HEADER NAME adds it to the header's list.
 *
 * Macros of a library's header that expand to its functions (OpenSSL's
 * OPENSSL_free, sk_X509_num, BIO_get_mem_data ...) are expanded where they
 * are used, after the lazy header's names: the functions they call are in
 * the list like the others.
 */
#ifndef MAILSEC_LAZY_H
#define MAILSEC_LAZY_H

#include <stdbool.h>
#include <stddef.h>

#include <mailsec/core.h>

typedef struct ms_lazy_lib {
    const char *key;           /* "PQ": MAILSEC_LAZY_SONAME_PQ (lazy.c) */
    const char *soname;        /* what dlopen loads: "libpq.so.5" */
    const char *what;          /* in the error: "PostgreSQL client library (libpq)" */
    const char *package;       /* the Debian package that installs it */
    const char *const *names;  /* the functions and data looked up */
    void **slots;              /* their addresses, in the order of names */
    size_t count;
    bool tried;                /* under lazy.c's lock */
    bool loaded;               /* set under the lock, read without it (ms_lazy_slot) */
    char error[384];           /* why it could not be loaded */
} ms_lazy_lib;

#define MS_LAZY_LIB(key, soname, what, package, names, slots)                                   \
    {(key), (soname), (what), (package), (names), (slots), sizeof(names) / sizeof((names)[0]),  \
     false, false, ""}

/* The name's address from LIB's table (LIB loaded first if it was not),
 * as the type the library's header declares it (a function or data;
 * dlsym's void * becomes it as POSIX allows). The name inside is not
 * expanded again, so it is the real declaration's. */
#define MS_LAZY(lib, name) (*(__typeof__(&name))ms_lazy_slot(&lib##_lib, lib##_slots, lib##_##name))

/* For the lists of names (lazy_libs.c). */
#define MS_LAZY_NAME(name) #name,

/* Loads LIB once (thread-safe): MS_OK when every name was found, else
 * MS_ERR_IO, and ms_lazy_error() says which library is missing and which
 * package installs it. Every later call gives the same answer. */
ms_status ms_lazy_load(ms_lazy_lib *lib);
const char *ms_lazy_error(const ms_lazy_lib *lib);
/* Why LIB could not be loaded, or NULL when it was, or was never asked
 * for: for a caller that learns of the failure later than the code that
 * met it (lib/dns: ms_dns_library_error). */
const char *ms_lazy_failure(ms_lazy_lib *lib);

/* Loads LIB for a call that needs it now: when it cannot be loaded, writes
 * "mailsec: " and the reason to stderr and ends the process with status 2
 * (what the command does when it could not check). */
void ms_lazy_require(ms_lazy_lib *lib);

/* The address in SLOTS at INDEX, LIB loaded first if it was not: once it
 * is, one load (acquire, pairing with the release in lazy.c, so the table
 * written before is seen) and a branch always taken the same way. */
static inline void *ms_lazy_slot(ms_lazy_lib *lib, void *const *slots, size_t index)
{
    if (__builtin_expect(!__atomic_load_n(&lib->loaded, __ATOMIC_ACQUIRE), 0))
        ms_lazy_require(lib);
    return slots[index];
}

#endif
