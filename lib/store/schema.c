/* The schema and its migrations (docs/store.md). One list for both
 * backends: the few types that differ are written @ID@, @BLOB@ and
 * @WITHOUT_ROWID@ and replaced per backend. Migration N is applied in one
 * transaction that also records N in schema_version; on PostgreSQL an
 * advisory lock makes concurrent openers take turns, on SQLite BEGIN
 * IMMEDIATE does.
 *
 * Never edit a migration that has shipped: append a new one. */
#include "store/internal.h"
#include "store/rollup.h"

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

    /* 3: the rollups (rollup.h), built from the reports already stored;
     * ingest adds to them in each report's transaction from then on. The
     * grain is the policy domain and the UTC day of the report's begin:
     * the views' windows select reports by their begin. The names from
     * auth_more are added by rollup_build_more_names after this text. */
    "CREATE TABLE rollup_days ("
    " domain TEXT NOT NULL, day BIGINT NOT NULL,"
    " reports BIGINT NOT NULL, messages BIGINT NOT NULL,"
    " dmarc_pass BIGINT NOT NULL, spf_aligned BIGINT NOT NULL, dkim_aligned BIGINT NOT NULL,"
    " unaligned BIGINT NOT NULL, failing BIGINT NOT NULL,"
    " dkim_pass_spf_fail BIGINT NOT NULL, forwarded BIGINT NOT NULL,"
    " disp_none BIGINT NOT NULL, disp_quarantine BIGINT NOT NULL, disp_reject BIGINT NOT NULL,"
    " first_begin BIGINT NOT NULL, last_end BIGINT NOT NULL,"
    " PRIMARY KEY (domain, day))@WITHOUT_ROWID@;\n"
    "CREATE TABLE rollup_counts ("
    " domain TEXT NOT NULL, day BIGINT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,"
    " reports BIGINT NOT NULL, messages BIGINT NOT NULL,"
    " PRIMARY KEY (domain, day, kind, name))@WITHOUT_ROWID@;\n"
    "CREATE TABLE rollup_policies ("
    " domain TEXT NOT NULL, day BIGINT NOT NULL,"
    " p TEXT NOT NULL, sp TEXT NOT NULL, np TEXT NOT NULL, pct TEXT NOT NULL,"
    " adkim TEXT NOT NULL, aspf TEXT NOT NULL, fo TEXT NOT NULL, testing TEXT NOT NULL,"
    " org TEXT NOT NULL, reports BIGINT NOT NULL,"
    " first_begin BIGINT NOT NULL, last_end BIGINT NOT NULL,"
    " PRIMARY KEY (domain, day, p, sp, np, pct, adkim, aspf, fo, testing, org))@WITHOUT_ROWID@;\n"
    "CREATE TABLE rollup_sources ("
    " source_ip TEXT NOT NULL, domain TEXT NOT NULL, day BIGINT NOT NULL,"
    " messages BIGINT NOT NULL, aligned BIGINT NOT NULL, unaligned BIGINT NOT NULL,"
    " failing BIGINT NOT NULL, dkim_pass_spf_fail BIGINT NOT NULL, forwarded BIGINT NOT NULL,"
    " PRIMARY KEY (source_ip, domain, day))@WITHOUT_ROWID@;\n"
    "CREATE TABLE rollup_source_totals ("
    " source_ip TEXT NOT NULL, domain TEXT NOT NULL,"
    " messages BIGINT NOT NULL, aligned BIGINT NOT NULL, unaligned BIGINT NOT NULL,"
    " failing BIGINT NOT NULL, dkim_pass_spf_fail BIGINT NOT NULL, forwarded BIGINT NOT NULL,"
    " PRIMARY KEY (source_ip, domain))@WITHOUT_ROWID@;\n"
    /* the top sources of a domain, read in order without a sort */
    "CREATE INDEX rollup_source_top ON rollup_source_totals"
    " (domain, messages DESC, source_ip@C@);\n"
    "CREATE TABLE rollup_source_names ("
    " source_ip TEXT NOT NULL, domain TEXT NOT NULL, day BIGINT NOT NULL,"
    " kind TEXT NOT NULL, name TEXT NOT NULL,"
    " PRIMARY KEY (source_ip, domain, day, kind, name))@WITHOUT_ROWID@;\n"
#define ROLLUP_BUILD(sql) sql ";\n"
    ROLLUP_INSERTS_V3(ROLLUP_BUILD),

    /* 4: the number of sources of each domain (rollup.h), counted from the
     * totals: `report sources` says how many others there are without
     * counting millions of rows. Made whole from the totals, also over a
     * store whose rollups were dropped and rebuilt by hand. */
    "DROP TABLE IF EXISTS rollup_domain_sources;\n"
    "CREATE TABLE rollup_domain_sources ("
    " domain TEXT NOT NULL PRIMARY KEY, sources BIGINT NOT NULL)@WITHOUT_ROWID@;\n"
    ROLLUP_DOMAIN_SOURCES_BUILD ";\n",

    /* 5: the messages this receiver evaluated (ms_store_put_evaluation) and
     * where the aggregate reports made of them stand (`report send`).
     * Absent values are '' so that GROUP BY (the report's <record>s)
     * compares them as equal. dkim and overrides hold the lists as text,
     * one "domain\tselector\tresult" / "type\tcomment" per line (the
     * values have no control characters), so a record's grouping is one
     * GROUP BY over this table. IF NOT EXISTS: the tests that take a store
     * back to an earlier version (dropping the tables of version 3) run
     * this again. */
    "CREATE TABLE IF NOT EXISTS evaluations ("
    " id @ID@,"
    " evaluated_at BIGINT NOT NULL, day BIGINT NOT NULL,"
    " policy_domain TEXT NOT NULL, policy_record TEXT,"
    " source_ip TEXT NOT NULL, header_from TEXT NOT NULL,"
    " envelope_from TEXT NOT NULL, envelope_to TEXT NOT NULL,"
    " disposition TEXT NOT NULL, dkim_aligned TEXT NOT NULL, spf_aligned TEXT NOT NULL,"
    " spf_domain TEXT NOT NULL, spf_scope TEXT NOT NULL, spf_result TEXT NOT NULL,"
    " dkim TEXT NOT NULL, overrides TEXT NOT NULL);\n"
    "CREATE INDEX IF NOT EXISTS evaluations_period ON evaluations (day, policy_domain);\n"
    "CREATE TABLE IF NOT EXISTS report_sends ("
    " policy_domain TEXT NOT NULL, day BIGINT NOT NULL, destination TEXT NOT NULL,"
    " report_id TEXT NOT NULL, state TEXT NOT NULL, updated_at BIGINT NOT NULL,"
    " PRIMARY KEY (policy_domain, day, destination))@WITHOUT_ROWID@;\n",

    /* 6: a source's names on its row of rollup_sources (rollup.h), not
     * rows of their own: ingest writes a row per new source and day
     * instead of four. */
    ROLLUP_SOURCES_V6_CONVERT,

    /* 7: a source seen on one day only keeps its totals row, which carries
     * that day and its names (rollup.h, rollup_source_days): no row of the
     * day. The rows already stored stay as they are: a totals row with no
     * day has its days in rollup_sources. */
    ROLLUP_SOURCE_DAYS_V7,

    /* 8: reports.original_digest, the SHA-256 of an aggregate report as it
     * came: the gzip stream when it came as gzip (the stored original is
     * that stream), else its document's bytes. A report met again in the
     * same form is known to be the same bytes by it, without its stored
     * original being read and inflated (docs/store.md, "Conflicting
     * duplicates"). NULL for the reports stored before, which are
     * compared with their original. */
    "ALTER TABLE reports ADD COLUMN original_digest TEXT;\n",
};

int store_schema_latest(void)
{
    return (int)(sizeof migrations / sizeof migrations[0]);
}

void store_sql_append(ms_buf *out, const ms_store *store, const char *text)
{
    const store_backend *b = store->backend;
    int pg = strcmp(b->name, "postgresql") == 0;
    static const char *const tokens[] = {"@ID@", "@BLOB@", "@WITHOUT_ROWID@", "@SUM@", "@C@",
                                         "@LIST@", "@REPORTS_R@", "@STRPOS@", "@LINES_OF@",
                                         "@LINES_END@"};
    /* SQLite's sum() fails on an integer overflow where total() does not;
     * PostgreSQL's sum() of bigint is a numeric already. "C": byte order,
     * as strcmp, whatever the database's collation. SQLite's NOT INDEXED
     * still reads by rowid (rollup.h). The distinct values of an
     * aggregate joined by newlines: SQLite's DISTINCT aggregates take one
     * argument, so its group_concat cannot be given the separator. */
    const char *values[] = {b->id_type, b->blob_type, b->without_rowid, pg ? "sum" : "total",
                            pg ? " COLLATE \"C\"" : "", pg ? "string_agg" : "group_concat",
                            pg ? "reports r" : "reports r NOT INDEXED", pg ? "strpos" : "instr",
                            pg ? "string_agg(DISTINCT "
                               : "(SELECT group_concat(value, char(10))"
                                 " FROM json_each(json_group_array(DISTINCT ",
                            pg ? ", chr(10))" : ")))"};
    enum { NTOKENS = sizeof tokens / sizeof tokens[0] };
    const char *p = text;
    while (*p != '\0') {
        const char *at = strchr(p, '@');
        if (at == NULL) {
            ms_buf_puts(out, p);
            break;
        }
        ms_buf_append(out, p, (size_t)(at - p));
        size_t i;
        for (i = 0; i < NTOKENS; i++)
            if (strncmp(at, tokens[i], strlen(tokens[i])) == 0)
                break;
        if (i == NTOKENS) {
            ms_buf_append(out, at, 1);
            p = at + 1;
        } else {
            ms_buf_puts(out, values[i]);
            p = at + strlen(tokens[i]);
        }
    }
}

char *store_sql_text(const ms_store *store, const char *text)
{
    ms_buf out = MS_BUF_INIT;
    store_sql_append(&out, store, text);
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
        char *sql = store_sql_text(store, migrations[version]);
        st = sql ? b->exec(store, sql) : MS_ERR_NOMEM;
        free(sql);
    }
    if (st == MS_OK && version + 1 == 3)
        st = rollup_build_more_names(store, ROLLUP_NAME_V3_INSERT);
    if (st == MS_OK) {
        sql_param p[] = {P_INT(version + 1), P_INT(time(NULL))};
        st = store_exec_params(store, "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
                               p, 2);
    }
    if (st == MS_OK)
        st = b->exec(store, "COMMIT");
    if (st != MS_OK)
        store_exec_quietly(store, "ROLLBACK");
    return st;
}

/* Migration 3 groups every stored record (the rollups): SQLite sorts in
 * temporary files past its cache (temp_store=FILE, sqlite.c), where a
 * store of ten million records would take gigabytes in memory.
 * PostgreSQL spills past work_mem itself. */
ms_status store_migrate(ms_store *store)
{
    ms_status st = MS_OK;
    for (int done = 0; st == MS_OK && !done;)
        st = migrate_step(store, &done);
    return st;
}
