/* The libraries libmailsec loads on first use (core/lazy.h): each one's
 * soname (the one the build linked against, found by CMake:
 * lib/CMakeLists.txt), what to call it in an error, the Debian package
 * that installs it, and its table. */
#include "core/lazy_archive.h"
#include "core/lazy_curl.h"
#include "core/lazy_gmime.h"
#include "core/lazy_ldns.h"
#include "core/lazy_openssl.h"
#include "core/lazy_pq.h"
#include "core/lazy_sqlite.h"
#include "core/lazy_unbound.h"

static const char *const pq_names[] = {MS_PQ_NAMES(MS_LAZY_NAME)};
void *ms_pq_slots[ms_pq_count];
ms_lazy_lib ms_pq_lib = MS_LAZY_LIB("PQ", MAILSEC_SONAME_PQ, "PostgreSQL client library (libpq)", "libpq5",
                                    pq_names, ms_pq_slots);

static const char *const curl_names[] = {MS_CURL_NAMES(MS_LAZY_NAME)};
void *ms_curl_slots[ms_curl_count];
ms_lazy_lib ms_curl_lib = MS_LAZY_LIB("CURL", MAILSEC_SONAME_CURL, "HTTPS and IMAP library (libcurl)",
                                      "libcurl4", curl_names, ms_curl_slots);

static const char *const gmime_names[] = {MS_GMIME_NAMES(MS_LAZY_NAME)};
void *ms_gmime_slots[ms_gmime_count];
ms_lazy_lib ms_gmime_lib = MS_LAZY_LIB("GMIME", MAILSEC_SONAME_GMIME, "MIME library (GMime 3)",
                                       "libgmime-3.0-0", gmime_names, ms_gmime_slots);

static const char *const archive_names[] = {MS_ARCHIVE_NAMES(MS_LAZY_NAME)};
void *ms_archive_slots[ms_archive_count];
ms_lazy_lib ms_archive_lib = MS_LAZY_LIB("ARCHIVE", MAILSEC_SONAME_ARCHIVE, "archive library (libarchive)",
                                         "libarchive13", archive_names, ms_archive_slots);

static const char *const ldns_names[] = {MS_LDNS_NAMES(MS_LAZY_NAME)};
void *ms_ldns_slots[ms_ldns_count];
ms_lazy_lib ms_ldns_lib = MS_LAZY_LIB("LDNS", MAILSEC_SONAME_LDNS, "DNS message library (ldns)", "libldns3",
                                      ldns_names, ms_ldns_slots);

static const char *const unbound_names[] = {MS_UNBOUND_NAMES(MS_LAZY_NAME)};
void *ms_unbound_slots[ms_unbound_count];
ms_lazy_lib ms_unbound_lib = MS_LAZY_LIB("UNBOUND", MAILSEC_SONAME_UNBOUND, "DNS resolver library (libunbound)",
                                         "libunbound8", unbound_names, ms_unbound_slots);

static const char *const crypto_names[] = {MS_CRYPTO_NAMES(MS_LAZY_NAME)};
void *ms_crypto_slots[ms_crypto_count];
ms_lazy_lib ms_crypto_lib = MS_LAZY_LIB("CRYPTO", MAILSEC_SONAME_CRYPTO, "cryptography library (OpenSSL's libcrypto)",
                                        "libssl3", crypto_names, ms_crypto_slots);

static const char *const ssl_names[] = {MS_SSL_NAMES(MS_LAZY_NAME)};
void *ms_ssl_slots[ms_ssl_count];
ms_lazy_lib ms_ssl_lib = MS_LAZY_LIB("SSL", MAILSEC_SONAME_SSL, "TLS library (OpenSSL's libssl)", "libssl3",
                                     ssl_names, ms_ssl_slots);

static const char *const sqlite_names[] = {MS_SQLITE_NAMES(MS_LAZY_NAME)};
void *ms_sqlite_slots[ms_sqlite_count];
ms_lazy_lib ms_sqlite_lib = MS_LAZY_LIB("SQLITE", MAILSEC_SONAME_SQLITE, "SQLite library (libsqlite3)",
                                        "libsqlite3-0", sqlite_names, ms_sqlite_slots);
