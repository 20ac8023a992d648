/* The schema and its migrations (docs/store.md). One list for both
 * backends: the few types that differ are written @ID@, @BLOB@ and
 * @WITHOUT_ROWID@ and replaced per backend. Migration N is applied in one
 * transaction that also records N in schema_version; on PostgreSQL an
 * advisory lock makes concurrent openers take turns, on SQLite BEGIN
 * IMMEDIATE does.
 *
 * Never edit a migration that has shipped: append a new one. */
#include "store/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const migrations[] = {
    /* 1: the first schema. No foreign keys: enforcing them costs a check
     * per inserted record (a trigger per row on PostgreSQL), and rows are
     * only ever written by the store, inside the report's transaction. */
    "CREATE TABLE reports ("
    " id @ID@,"
    " kind TEXT NOT NULL,"            /* aggregate / tls / failure */
    " org TEXT NOT NULL,"
    " report_id TEXT NOT NULL,"
    " domain TEXT NOT NULL,"
    " date_begin BIGINT NOT NULL,"
    " date_end BIGINT NOT NULL,"
    " agg_schema TEXT, version TEXT, email TEXT, extra_contact_info TEXT,"
    " generator TEXT, errors TEXT,"
    " adkim TEXT, aspf TEXT, p TEXT, sp TEXT, np TEXT, pct TEXT, fo TEXT,"
    " testing TEXT, discovery_method TEXT,"
    " origin TEXT, origin_file TEXT,"
    " records BIGINT NOT NULL DEFAULT 0,"
    " messages BIGINT NOT NULL DEFAULT 0,"
    " ingested_at BIGINT NOT NULL,"
    " UNIQUE (kind, org, report_id, domain, date_begin, date_end));\n"
    /* No other index on reports: each costs a page written per report
     * committed, and the read queries scan reports (one row per report)
     * and reach the records through their primary key. */
    /* One row per <record>, the first DKIM and SPF results inline and the
     * others as text: one INSERT per record (bench/report/store_bench.c). */
    "CREATE TABLE agg_records ("
    " report BIGINT NOT NULL,"
    " seq BIGINT NOT NULL,"
    " source_ip TEXT,"
    " count BIGINT NOT NULL,"
    " disposition TEXT, dkim TEXT, spf TEXT,"
    " reasons TEXT, reason_comments TEXT,"
    " envelope_to TEXT, envelope_from TEXT, header_from TEXT,"
    " dkim_domain TEXT, dkim_selector TEXT, dkim_result TEXT, dkim_human TEXT,"
    " spf_domain TEXT, spf_scope TEXT, spf_result TEXT, spf_human TEXT,"
    " dkim_pass SMALLINT NOT NULL, spf_pass SMALLINT NOT NULL,"
    " auth_more TEXT,"
    " PRIMARY KEY (report, seq))@WITHOUT_ROWID@;\n"
    /* The original, compressed, in the chunks it arrived in. */
    "CREATE TABLE raw ("
    " report BIGINT NOT NULL,"
    " seq BIGINT NOT NULL,"
    " bytes @BLOB@ NOT NULL,"
    " PRIMARY KEY (report, seq))@WITHOUT_ROWID@;\n"
    "CREATE TABLE tls_policies ("
    " id @ID@,"
    " report BIGINT NOT NULL,"
    " policy_type TEXT, policy_domain TEXT, policy_string TEXT, mx_host TEXT,"
    " successful BIGINT NOT NULL, failed BIGINT NOT NULL);\n"
    "CREATE INDEX tls_policies_report ON tls_policies (report);\n"
    "CREATE TABLE tls_failures ("
    " policy BIGINT NOT NULL,"
    " report BIGINT NOT NULL,"
    " seq BIGINT NOT NULL,"
    " result_type TEXT, sending_mta_ip TEXT, receiving_mx_hostname TEXT,"
    " receiving_mx_helo TEXT, receiving_ip TEXT,"
    " failed_sessions BIGINT NOT NULL,"
    " additional_information TEXT, failure_reason_code TEXT,"
    " PRIMARY KEY (policy, seq));\n"
    "CREATE TABLE failure_reports ("
    " report BIGINT NOT NULL PRIMARY KEY,"
    " message_key TEXT NOT NULL UNIQUE,"
    " message_id TEXT, report_date TEXT, feedback_type TEXT, user_agent TEXT,"
    " version TEXT, reported_domain TEXT, source_ip TEXT, arrival_date TEXT,"
    " arrival_time BIGINT NOT NULL,"
    " original_mail_from TEXT, original_rcpt_to TEXT, original_envelope_id TEXT,"
    " reporting_mta TEXT, authentication_results TEXT, auth_failure TEXT,"
    " identity_alignment TEXT, delivery_result TEXT,"
    " dkim_domain TEXT, dkim_selector TEXT, dkim_identity TEXT, spf_dns TEXT,"
    " incidents BIGINT NOT NULL,"
    " original_from TEXT, original_to TEXT, original_subject TEXT,"
    " original_message_id TEXT,"
    " has_feedback_part SMALLINT NOT NULL, has_original_part SMALLINT NOT NULL);\n"
    "CREATE TABLE rejected ("
    " id @ID@,"
    " origin TEXT, origin_file TEXT, kind TEXT, reason TEXT,"
    " line BIGINT, col BIGINT, byte_offset BIGINT,"
    " rejected_at BIGINT NOT NULL);\n"
    "CREATE TABLE imap_seen ("
    " mailbox TEXT NOT NULL, uidvalidity BIGINT NOT NULL, uid BIGINT NOT NULL,"
    " seen_at BIGINT NOT NULL,"
    " PRIMARY KEY (mailbox, uidvalidity, uid))@WITHOUT_ROWID@;\n"
    "CREATE TABLE rdns ("
    " ip TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL, fetched BIGINT NOT NULL);\n",

    /* 2: conflicting duplicates and one rejected row per bad input.
     * reports.digest: the content digest of an aggregate report (SHA-256
     * of its document), NULL for reports stored before. conflicts: a
     * report met again under the same identity with other content; the
     * stored one is kept, each differing content counted once. */
    "ALTER TABLE reports ADD COLUMN digest TEXT;\n"
    /* reports.notes: what the parser made of something unusual in the
     * report (an empty <org_name> named after the domain of <email>). */
    "ALTER TABLE reports ADD COLUMN notes TEXT;\n"
    "CREATE TABLE conflicts ("
    " report BIGINT NOT NULL,"
    " digest TEXT NOT NULL,"
    " origin TEXT, origin_file TEXT,"
    " first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, seen_count BIGINT NOT NULL,"
    " PRIMARY KEY (report, digest))@WITHOUT_ROWID@;\n"
    /* rejected, keyed by (kind, input_key): a digest of the bad input's
     * origin and the bytes read of it, so running again over the same
     * file finds its row. The rows of earlier runs are folded: one per
     * origin, kind, reason and position, with how often it was seen. */
    "CREATE TABLE rejected_v2 ("
    " id @ID@,"
    " origin TEXT, origin_file TEXT, kind TEXT NOT NULL,"
    " input_key TEXT NOT NULL, reason TEXT,"
    " line BIGINT, col BIGINT, byte_offset BIGINT,"
    " rejected_at BIGINT NOT NULL, last_seen BIGINT NOT NULL, seen_count BIGINT NOT NULL,"
    " UNIQUE (kind, input_key));\n"
    "INSERT INTO rejected_v2 (origin, origin_file, kind, input_key, reason, line, col,"
    " byte_offset, rejected_at, last_seen, seen_count)"
    " SELECT origin, MAX(origin_file), COALESCE(kind, ''),"
    " 'before-v2-' || CAST(MIN(id) AS TEXT), reason, line, col, byte_offset,"
    " MIN(rejected_at), MAX(rejected_at), COUNT(*)"
    " FROM rejected GROUP BY origin, COALESCE(kind, ''), reason, line, col,"
    " byte_offset;\n"
    "DROP TABLE rejected;\n"
    "ALTER TABLE rejected_v2 RENAME TO rejected;\n",
};

int store_schema_latest(void)
{
    return (int)(sizeof migrations / sizeof migrations[0]);
}

/* The migration's text for this backend. */
static char *migration_text(const store_backend *b, const char *text)
{
    static const char *const tokens[] = {"@ID@", "@BLOB@", "@WITHOUT_ROWID@"};
    const char *values[] = {b->id_type, b->blob_type, b->without_rowid};
    ms_buf out = MS_BUF_INIT;
    const char *p = text;
    while (*p != '\0') {
        const char *at = strchr(p, '@');
        if (at == NULL) {
            ms_buf_puts(&out, p);
            break;
        }
        ms_buf_append(&out, p, (size_t)(at - p));
        size_t i;
        for (i = 0; i < 3; i++)
            if (strncmp(at, tokens[i], strlen(tokens[i])) == 0)
                break;
        if (i == 3) {
            ms_buf_append(&out, at, 1);
            p = at + 1;
        } else {
            ms_buf_puts(&out, values[i]);
            p = at + strlen(tokens[i]);
        }
    }
    return ms_buf_take(&out);
}

static ms_status current_version(ms_store *store, int *version)
{
    int64_t v = 0;
    int found = 0;
    ms_status st = store_query_int(store, "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                                   NULL, 0, &v, &found);
    *version = (int)v;
    return st;
}

/* One step: inside a write transaction, brings the schema from whatever
 * version it has to the next one. *done set when it was already latest. */
static ms_status migrate_step(ms_store *store, int *done)
{
    const store_backend *b = store->backend;
    ms_status st = b->begin(store);
    if (st != MS_OK)
        return st;
    if (b->migrate_lock_sql != NULL)
        st = b->exec(store, b->migrate_lock_sql);
    if (st == MS_OK)
        st = b->exec(store, "CREATE TABLE IF NOT EXISTS schema_version ("
                            " version INTEGER NOT NULL PRIMARY KEY,"
                            " applied_at BIGINT NOT NULL)");
    int version = 0;
    if (st == MS_OK)
        st = current_version(store, &version);
    if (st == MS_OK && version > store_schema_latest())
        st = store_fail(store, MS_ERR_INVALID,
                        "the database has schema version %d, newer than this mailsec knows (%d)",
                        version, store_schema_latest());
    if (st == MS_OK && version == store_schema_latest()) {
        *done = 1;
        return b->exec(store, "COMMIT");
    }
    if (st == MS_OK) {
        char *sql = migration_text(b, migrations[version]);
        st = sql ? b->exec(store, sql) : MS_ERR_NOMEM;
        free(sql);
    }
    if (st == MS_OK) {
        sql_param p[] = {P_INT(version + 1), P_INT(time(NULL))};
        st = store_exec_params(store, "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
                               p, 2);
    }
    if (st == MS_OK)
        st = b->exec(store, "COMMIT");
    if (st != MS_OK)
        b->exec(store, "ROLLBACK");
    return st;
}

ms_status store_migrate(ms_store *store)
{
    for (int done = 0; !done;) {
        ms_status st = migrate_step(store, &done);
        if (st != MS_OK)
            return st;
    }
    return MS_OK;
}
