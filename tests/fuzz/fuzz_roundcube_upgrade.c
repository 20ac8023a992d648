/* libFuzzer harness for what `roundcube upgrade` reads from files it did
 * not write (lib/roundcube/db.c): the database DSN of the configuration
 * and the statements of a release's SQL migration files.
 *
 * The first byte chooses: even, the rest is a DSN (up to its first NUL);
 * odd, the rest is a migration file. Then:
 *  - a DSN parses or is refused (MS_ERR_INVALID) with a message, never
 *    half-filled: on success it names a database, and only SQLite's has no
 *    user;
 *  - a migration splits into statements that are never empty and never
 *    longer than the file, and as many as the file has lines at most.
 * Everything is freed, so LeakSanitizer sees any leak. */
#include "roundcube/upgrade.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

static void fuzz_dsn(const char *text)
{
    rc_dsn dsn;
    char *error = NULL;
    ms_status st = rc_dsn_parse(text, &dsn, &error);
    if (st == MS_OK) {
        CHECK(dsn.name != NULL);
        CHECK(error == NULL);
        rc_dsn_free(&dsn);
    } else {
        CHECK(st == MS_ERR_INVALID || st == MS_ERR_NOMEM);
        CHECK(st == MS_ERR_NOMEM || error != NULL);
        CHECK(dsn.name == NULL && dsn.user == NULL && dsn.pass == NULL && dsn.host == NULL);
    }
    free(error);
}

static void fuzz_script(const char *text, size_t len)
{
    rc_sql_script script = {0};
    ms_status st = rc_sql_split(text, &script);
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    CHECK(st == MS_OK || st == MS_ERR_NOMEM);
    CHECK(script.count <= lines);
    for (size_t i = 0; i < script.count; i++) {
        size_t n = strlen(script.stmts[i]);
        CHECK(n > 0 && n <= len);
    }
    rc_sql_script_free(&script);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] % 2 == 0)
        fuzz_dsn(text);
    else
        fuzz_script(text, strlen(text));
    free(text);
    return 0;
}
