/* Helpers for tests that use the PostgreSQL fixture (tests/lib/pgsql.sh):
 * one way to run a statement and to make a fresh database. */
#ifndef MAILSEC_TESTS_PGTEST_H
#define MAILSEC_TESTS_PGTEST_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs sql on the database at url; a failure ends the test program. */
static inline void pg_exec_or_die(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        printf("FATAL %s: %s", sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
    PQfinish(c);
}

/* Creates the empty database PREFIX_PID_N on the server of base_url and
 * returns its URL (malloc'd). */
static inline char *pg_new_database(const char *base_url, const char *prefix, int n)
{
    char name[96], sql[128];
    snprintf(name, sizeof name, "%s_%d_%d", prefix, (int)getpid(), n);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    pg_exec_or_die(base_url, sql);
    const char *slash = strrchr(base_url, '/'); /* same server, the new database */
    size_t len = (size_t)(slash - base_url) + strlen(name) + 2;
    char *url = malloc(len);
    if (url != NULL)
        snprintf(url, len, "%.*s/%s", (int)(slash - base_url), base_url, name);
    return url;
}

#endif
