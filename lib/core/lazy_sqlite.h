/* SQLite, loaded on first use (core/lazy.h): the names the report store
 * (lib/store/sqlite.c) and the Roundcube database checks (lib/roundcube)
 * call. Include this instead of <sqlite3.h>. A call loads the library the
 * first time; without it the process ends with status 2 and the package to
 * install (ms_lazy_require). The SQLite extension (ext/sqlite) is not
 * concerned: it calls SQLite through the table the sqlite3 program hands
 * it (sqlite3ext.h). */
#ifndef MAILSEC_LAZY_SQLITE_H
#define MAILSEC_LAZY_SQLITE_H

#include <sqlite3.h>

#include "core/lazy.h"

#define MS_SQLITE_NAMES(X) \
    X(sqlite3_backup_finish) \
    X(sqlite3_backup_init) \
    X(sqlite3_backup_step) \
    X(sqlite3_bind_blob64) \
    X(sqlite3_bind_int) \
    X(sqlite3_bind_int64) \
    X(sqlite3_bind_null) \
    X(sqlite3_bind_text) \
    X(sqlite3_bind_value) \
    X(sqlite3_busy_timeout) \
    X(sqlite3_changes) \
    X(sqlite3_clear_bindings) \
    X(sqlite3_close) \
    X(sqlite3_column_blob) \
    X(sqlite3_column_bytes) \
    X(sqlite3_column_count) \
    X(sqlite3_column_int64) \
    X(sqlite3_column_text) \
    X(sqlite3_column_value) \
    X(sqlite3_config) \
    X(sqlite3_errmsg) \
    X(sqlite3_errstr) \
    X(sqlite3_exec) \
    X(sqlite3_extended_errcode) \
    X(sqlite3_finalize) \
    X(sqlite3_free) \
    X(sqlite3_mprintf) \
    X(sqlite3_open_v2) \
    X(sqlite3_prepare_v2) \
    X(sqlite3_reset) \
    X(sqlite3_sleep) \
    X(sqlite3_step) \
    X(sqlite3_wal_checkpoint_v2) \
    X(sqlite3_wal_hook)

#define MS_SQLITE_INDEX(name) ms_sqlite_##name,
enum { MS_SQLITE_NAMES(MS_SQLITE_INDEX) ms_sqlite_count };

extern ms_lazy_lib ms_sqlite_lib;
extern void *ms_sqlite_slots[ms_sqlite_count];

#define sqlite3_backup_finish MS_LAZY(ms_sqlite, sqlite3_backup_finish)
#define sqlite3_backup_init MS_LAZY(ms_sqlite, sqlite3_backup_init)
#define sqlite3_backup_step MS_LAZY(ms_sqlite, sqlite3_backup_step)
#define sqlite3_bind_blob64 MS_LAZY(ms_sqlite, sqlite3_bind_blob64)
#define sqlite3_bind_int MS_LAZY(ms_sqlite, sqlite3_bind_int)
#define sqlite3_bind_int64 MS_LAZY(ms_sqlite, sqlite3_bind_int64)
#define sqlite3_bind_null MS_LAZY(ms_sqlite, sqlite3_bind_null)
#define sqlite3_bind_text MS_LAZY(ms_sqlite, sqlite3_bind_text)
#define sqlite3_bind_value MS_LAZY(ms_sqlite, sqlite3_bind_value)
#define sqlite3_busy_timeout MS_LAZY(ms_sqlite, sqlite3_busy_timeout)
#define sqlite3_changes MS_LAZY(ms_sqlite, sqlite3_changes)
#define sqlite3_clear_bindings MS_LAZY(ms_sqlite, sqlite3_clear_bindings)
#define sqlite3_close MS_LAZY(ms_sqlite, sqlite3_close)
#define sqlite3_column_blob MS_LAZY(ms_sqlite, sqlite3_column_blob)
#define sqlite3_column_bytes MS_LAZY(ms_sqlite, sqlite3_column_bytes)
#define sqlite3_column_count MS_LAZY(ms_sqlite, sqlite3_column_count)
#define sqlite3_column_int64 MS_LAZY(ms_sqlite, sqlite3_column_int64)
#define sqlite3_column_text MS_LAZY(ms_sqlite, sqlite3_column_text)
#define sqlite3_column_value MS_LAZY(ms_sqlite, sqlite3_column_value)
#define sqlite3_config MS_LAZY(ms_sqlite, sqlite3_config)
#define sqlite3_errmsg MS_LAZY(ms_sqlite, sqlite3_errmsg)
#define sqlite3_errstr MS_LAZY(ms_sqlite, sqlite3_errstr)
#define sqlite3_exec MS_LAZY(ms_sqlite, sqlite3_exec)
#define sqlite3_extended_errcode MS_LAZY(ms_sqlite, sqlite3_extended_errcode)
#define sqlite3_finalize MS_LAZY(ms_sqlite, sqlite3_finalize)
#define sqlite3_free MS_LAZY(ms_sqlite, sqlite3_free)
#define sqlite3_mprintf MS_LAZY(ms_sqlite, sqlite3_mprintf)
#define sqlite3_open_v2 MS_LAZY(ms_sqlite, sqlite3_open_v2)
#define sqlite3_prepare_v2 MS_LAZY(ms_sqlite, sqlite3_prepare_v2)
#define sqlite3_reset MS_LAZY(ms_sqlite, sqlite3_reset)
#define sqlite3_sleep MS_LAZY(ms_sqlite, sqlite3_sleep)
#define sqlite3_step MS_LAZY(ms_sqlite, sqlite3_step)
#define sqlite3_wal_checkpoint_v2 MS_LAZY(ms_sqlite, sqlite3_wal_checkpoint_v2)
#define sqlite3_wal_hook MS_LAZY(ms_sqlite, sqlite3_wal_hook)


#endif
