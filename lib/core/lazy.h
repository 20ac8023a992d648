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
 * lazy header instead of the library's, and its entry points call
 * ms_lazy_load() before the first call (a table not loaded holds NULLs).
 * A name used but not listed is an undefined symbol at link time, since the
 * library is not linked (the link uses --no-undefined): the build says so.
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
    bool loaded;
    char error[384];           /* why it could not be loaded */
} ms_lazy_lib;

#define MS_LAZY_LIB(key, soname, what, package, names, slots)                                   \
    {(key), (soname), (what), (package), (names), (slots), sizeof(names) / sizeof((names)[0]),  \
     false, false, ""}

/* The name's address from LIB's table, as the type the library's header
 * declares it (a function or data; dlsym's void * becomes it as POSIX
 * allows). The name inside is not expanded again, so it is the real
 * declaration's. */
#define MS_LAZY(lib, name) (*(__typeof__(&name))lib##_slots[lib##_##name])

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

#endif
