/* libFuzzer harness for the e-mail address parser (lib/email).
 *
 * Arbitrary bytes are checked under every profile, and:
 *  - the parts lie inside the input; the diagnosis is in the table;
 *  - the quick pass changes nothing: ms_email_check() (quick pass first)
 *    gives exactly em_check_full()'s result under every profile, and
 *    em_parse_quick(), when it takes the input, exactly em_parse_full()'s
 *    parse, field by field;
 *  - an address valid to the parser (outside profile intl) is in the
 *    WHATWG form (profile html5 counts on it);
 *  - the profiles nest: valid for smtp => valid for rfc5322, intl and
 *    html5;
 *  - a valid address has a normal form, which is itself valid under the
 *    same profile and normalises to itself, and ms_email_normalize_into()
 *    (the command's allocation-free path) writes the same text;
 *  - the SQLite functions agree with the library: the extension's glue
 *    (ext/sqlite/email_sqlite.c, compiled in here) is registered on an
 *    in-memory database of the system's libsqlite3 (loaded with dlopen, so
 *    the fuzz build needs nothing more than the library), and is_email(),
 *    email_diagnosis() and email_normalize() must give the library's
 *    answers for the same bytes.
 * Everything is freed, so LeakSanitizer sees any leak. */
#include "../../ext/sqlite/email_sqlite.c"
#include "email/email_internal.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

#include "fuzz_check.h"

static sqlite3 *db;
static sqlite3_stmt *stmt;

/* The database, once per process; NULL (no SQL checks) without libsqlite3. */
static void sql_setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    void *lib = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "fuzz_email: no libsqlite3.so.0 (%s): SQL differential check off\n", dlerror());
        return;
    }
    int (*auto_ext)(void (*)(void));
    int (*open_db)(const char *, sqlite3 **);
    *(void **)&auto_ext = dlsym(lib, "sqlite3_auto_extension");
    *(void **)&open_db = dlsym(lib, "sqlite3_open");
    CHECK(auto_ext != NULL && open_db != NULL);
    /* The auto-extension hands our init function the library's API table,
     * exactly as .load does; from then on sqlite3ext.h's calls work. */
    CHECK(auto_ext((void (*)(void))sqlite3_mailsecemail_init) == SQLITE_OK);
    CHECK(open_db(":memory:", &db) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db,
                             "SELECT is_email(CAST(?1 AS TEXT), ?2), email_diagnosis(CAST(?1 AS TEXT), ?2), "
                             "email_normalize(CAST(?1 AS TEXT), ?2)",
                             -1, &stmt, NULL) == SQLITE_OK);
}

/* ms_email_normalize_into (the command's allocation-free path) gives what
 * ms_email_normalize gives: the same text, "too small" for a short buffer. */
static void into_compare(const char *addr, size_t size, ms_email_profile p, const ms_email_result *r,
                         ms_status want_st, const char *want)
{
    if (want_st == MS_ERR_NOMEM)
        return;
    char buf[512];
    size_t n = 0;
    ms_status st = ms_email_normalize_into(addr, size, p, r, buf, sizeof buf, &n);
    if (want == NULL) {
        CHECK(st == MS_ERR_INVALID);
        return;
    }
    if (strlen(want) >= sizeof buf) {
        CHECK(st == MS_ERR_LIMIT && n == strlen(want));
        return;
    }
    CHECK(st == MS_OK && n == strlen(want) && strcmp(buf, want) == 0);
    if (n > 0) {
        size_t m = 0;
        CHECK(ms_email_normalize_into(addr, size, p, r, buf, n, &m) == MS_ERR_LIMIT && m == n);
    }
}

static void sql_compare(const uint8_t *data, size_t size, ms_email_profile p, const ms_email_result *r,
                        const char *normal)
{
    if (stmt == NULL)
        return;
    sqlite3_reset(stmt);
    CHECK(sqlite3_bind_blob(stmt, 1, size ? (const void *)data : "", (int)size, SQLITE_STATIC) == SQLITE_OK);
    CHECK(sqlite3_bind_text(stmt, 2, ms_email_profile_name(p), -1, SQLITE_STATIC) == SQLITE_OK);
    CHECK(sqlite3_step(stmt) == SQLITE_ROW);
    CHECK(sqlite3_column_int(stmt, 0) == r->valid);
    CHECK(strcmp((const char *)sqlite3_column_text(stmt, 1), r->diagnosis) == 0);
    if (normal == NULL) {
        CHECK(sqlite3_column_type(stmt, 2) == SQLITE_NULL);
    } else {
        CHECK(sqlite3_column_type(stmt, 2) == SQLITE_TEXT);
        CHECK(strcmp((const char *)sqlite3_column_text(stmt, 2), normal) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *addr = fuzz_copy(data, size);
    if (addr == NULL)
        return 0;
    sql_setup();
    const unsigned char *bytes = (const unsigned char *)addr;
    for (int utf8 = 0; utf8 <= 1; utf8++) {
        em_parse run, full;
        em_parse_full(bytes, size, utf8, &full);
        if (!utf8 && full.diag == EM_VALID)
            CHECK(em_html5_match(bytes, size));
        if (!em_parse_quick(bytes, size, utf8, &run))
            continue;
        CHECK(run.diag == full.diag && run.diag_offset == full.diag_offset);
        CHECK(run.local_start == full.local_start && run.local_end == full.local_end);
        CHECK(run.domain_start == full.domain_start && run.domain_end == full.domain_end);
        CHECK(run.local_octets == full.local_octets && run.domain_octets == full.domain_octets);
        CHECK(run.has_utf8 == full.has_utf8 && run.domain_utf8 == full.domain_utf8);
        CHECK(run.has_cfws == full.has_cfws && run.is_literal == full.is_literal);
    }
    ms_email_result res[4];
    for (int p = 0; p < 4; p++) {
        ms_email_result *r = &res[p];
        ms_email_check(addr, size, (ms_email_profile)p, r);
        ms_email_result full;
        em_check_full(addr, size, (ms_email_profile)p, &full);
        CHECK(r->valid == full.valid && r->category == full.category && r->error_offset == full.error_offset);
        CHECK(strcmp(r->diagnosis, full.diagnosis) == 0);
        CHECK(r->local_start == full.local_start && r->local_len == full.local_len);
        CHECK(r->domain_start == full.domain_start && r->domain_len == full.domain_len);
        CHECK(r->diagnosis != NULL && ms_email_diag_def(r->diagnosis) != NULL);
        CHECK(r->error_offset <= size);
        if (r->category < MS_EMAIL_CAT_ERR) {
            CHECK(r->local_start + r->local_len <= size && r->domain_start + r->domain_len <= size);
            CHECK(r->local_len > 0 && r->domain_len > 0 && r->local_start + r->local_len < r->domain_start);
        }
        char *normal = NULL;
        ms_status st = ms_email_normalize(addr, size, (ms_email_profile)p, &normal);
        CHECK(st == MS_OK || st == MS_ERR_INVALID || st == MS_ERR_NOMEM);
        CHECK((st == MS_ERR_INVALID) == (!r->valid || memchr(addr, 0, size) != NULL) || st == MS_ERR_NOMEM);
        if (normal != NULL) {
            ms_email_result again;
            ms_email_check(normal, strlen(normal), (ms_email_profile)p, &again);
            CHECK(again.valid);
            char *twice = NULL;
            CHECK(ms_email_normalize(normal, strlen(normal), (ms_email_profile)p, &twice) == MS_OK);
            CHECK(strcmp(normal, twice) == 0);
            free(twice);
        }
        into_compare(addr, size, (ms_email_profile)p, r, st, normal);
        sql_compare(data, size, (ms_email_profile)p, r, normal);
        free(normal);
    }
    if (res[MS_EMAIL_PROFILE_SMTP].valid) {
        CHECK(res[MS_EMAIL_PROFILE_RFC5322].valid);
        CHECK(res[MS_EMAIL_PROFILE_INTL].valid);
        CHECK(res[MS_EMAIL_PROFILE_HTML5].valid);
        CHECK(strcmp(res[MS_EMAIL_PROFILE_SMTP].diagnosis, res[MS_EMAIL_PROFILE_INTL].diagnosis) == 0);
    }
    free(addr);
    return 0;
}
