/* The rollups (docs/store.md): per policy domain and UTC day of the
 * report's begin, the sums the views read instead of the records. Each
 * rollup table is defined once, as a SELECT over the stored reports and
 * records with a condition left open (COND: " AND r.id = $1" for the one
 * report being committed, "" for the migration that builds the rollups of
 * a store, the filter's conditions where a window is not on whole days),
 * so what ingest adds, what the migration builds and what a view computes
 * from the records are the same figures.
 *
 * These definitions are part of migration 3 (rollup_sources as it was
 * then: ROLLUP_INSERTS_V3; migration 6 gave it its names): changing one
 * means a new migration that rebuilds the table.
 *
 * Text for store_sql_text: @SUM@ is the backend's sum that never
 * overflows (read.c). Every sum is saturated at MS_STORE_SUM_MAX as it is
 * stored (ROLLUP_CLAMP) and as it is added to (ROLLUP_ADD). */
#ifndef MAILSEC_STORE_ROLLUP_H
#define MAILSEC_STORE_ROLLUP_H

#include "store/internal.h"

#define ROLLUP_MAX "9007199254740991"

/* A count as the views sum it: a negative one (wrapped by an older
 * version) as the largest. x is a column. */
#define COUNT_OF(x) "CASE WHEN " x " < 0 THEN " ROLLUP_MAX " ELSE " x " END"
#define SUM_OF(x) "@SUM@(" x ")"
#define SUM_COUNT(x) SUM_OF(COUNT_OF(x))
/* A sum as stored: saturated, 0 for no rows. */
#define ROLLUP_CLAMP(x) "COALESCE(CASE WHEN " x " > " ROLLUP_MAX " THEN " ROLLUP_MAX " ELSE " x " END, 0)"
/* The messages of the records for which cond holds. */
#define SUM_IF(cond) ROLLUP_CLAMP(SUM_OF("CASE WHEN " cond " THEN " COUNT_OF("a.count") " ELSE 0 END"))
/* col = col + excluded.col on a conflict, saturated. */
#define ROLLUP_ADD(table, col)                                                                     \
    col " = CASE WHEN " table "." col " > " ROLLUP_MAX " - excluded." col " THEN " ROLLUP_MAX      \
        " ELSE " table "." col " + excluded." col " END"

/* The text columns of the rollups' keys, cut: PostgreSQL refuses an index
 * entry over about 2.7 kB, and a report's fields may hold 4 kB each
 * (MS_REPORT_FIELD_MAX). Real values are far shorter: a domain name is at
 * most 253 bytes, a policy field a few. */
#define KEY(x) "SUBSTR(" x ", 1, 200)"
#define POLICY_KEY(x) "SUBSTR(COALESCE(" x ", ''), 1, 16)"
#define DOMAIN_KEY KEY("LOWER(r.domain)")
#define IP_KEY KEY("COALESCE(a.source_ip, '')")

/* The UTC day (Unix seconds at 00:00) of a time, also before 1970. */
#define DAY_OF(x) "(" x " - ((" x " % 86400) + 86400) % 86400)"
#define REPORT_DAY DAY_OF("r.date_begin")

/* DMARC passed: the receiver's evaluated DKIM or SPF is pass. */
#define DMARC_PASS "(a.dkim = 'pass' OR a.spf = 'pass')"
#define SUM_UNALIGNED                                                                              \
    ROLLUP_CLAMP(SUM_OF("CASE WHEN " DMARC_PASS " THEN 0 WHEN a.dkim_pass = 1 OR a.spf_pass = 1"   \
                        " THEN " COUNT_OF("a.count") " ELSE 0 END"))
#define SUM_FAILING                                                                                \
    ROLLUP_CLAMP(SUM_OF("CASE WHEN " DMARC_PASS " THEN 0 WHEN a.dkim_pass = 1 OR a.spf_pass = 1"   \
                        " THEN 0 ELSE " COUNT_OF("a.count") " END"))
/* The classification of ms_store_source: aligned (DMARC passed),
 * unaligned (failed, but some SPF or DKIM result passed), failing
 * (nothing passed); the signs of forwarding. */
#define DKIM_PASS_SPF_FAIL "a.dkim_pass = 1 AND a.spf_pass = 0"
/* An override reason of type forwarded or mailing_list (RFC 7489's
 * tokens, as received: compared byte for byte, the same in both backends;
 * LIKE made '_' a wildcard and, in SQLite only, ignored case). */
#define FORWARDED                                                                                  \
    "(@STRPOS@(a.reasons, 'forwarded') > 0 OR @STRPOS@(a.reasons, 'mailing_list') > 0)"
#define SOURCE_SUMS                                                                                \
    ROLLUP_CLAMP(SUM_COUNT("a.count")) ", " SUM_IF(DMARC_PASS) ","                                 \
    " " SUM_UNALIGNED ","                                                                          \
    " " SUM_FAILING ","                                                                            \
    " " SUM_IF(DKIM_PASS_SPF_FAIL) ","                                                             \
    " " SUM_IF(FORWARDED)
#define SOURCE_SUM_COLUMNS "messages, aligned, unaligned, failing, dkim_pass_spf_fail, forwarded"
#define SOURCE_SUM_ADD(t)                                                                          \
    ROLLUP_ADD(t, "messages") ", " ROLLUP_ADD(t, "aligned") ", " ROLLUP_ADD(t, "unaligned") ", "   \
        ROLLUP_ADD(t, "failing") ", " ROLLUP_ADD(t, "dkim_pass_spf_fail") ", "                     \
        ROLLUP_ADD(t, "forwarded")

/* The stored reports, read by id (rowid) range or whole: SQLite would
 * otherwise take the identity index for kind = 'aggregate' and read
 * every report to find a group's few (@REPORTS_R@, store_sql_append). */
#define REPORTS_R " FROM @REPORTS_R@"
#define AGG_REPORTS REPORTS_R " WHERE r.kind = 'aggregate'"
#define AGG_RECORDS REPORTS_R " JOIN agg_records a ON a.report = r.id WHERE r.kind = 'aggregate'"

/* rollup_days: per domain and day, the reports (also those without
 * records), their messages and how they fared. */
#define ROLLUP_DAYS_COLUMNS                                                                        \
    "domain, day, reports, messages, dmarc_pass, spf_aligned, dkim_aligned, unaligned, failing,"   \
    " dkim_pass_spf_fail, forwarded, disp_none, disp_quarantine, disp_reject, first_begin, last_end"
#define ROLLUP_DAYS_SELECT(COND)                                                                   \
    "SELECT " DOMAIN_KEY ", " REPORT_DAY ", COUNT(DISTINCT r.id),"                                 \
    " " ROLLUP_CLAMP(SUM_COUNT("a.count")) ", " SUM_IF(DMARC_PASS) ","                             \
    " " SUM_IF("a.spf = 'pass'") ", " SUM_IF("a.dkim = 'pass'") ","                                \
    " " SUM_UNALIGNED ","                                                                          \
    " " SUM_FAILING ","                                                                            \
    " " SUM_IF(DKIM_PASS_SPF_FAIL) ","                                                             \
    " " SUM_IF(FORWARDED) ","                                                                      \
    " " SUM_IF("a.disposition = 'none'") ", " SUM_IF("a.disposition = 'quarantine'") ","           \
    " " SUM_IF("a.disposition = 'reject'") ", MIN(r.date_begin), MAX(r.date_end)"                  \
    REPORTS_R " LEFT JOIN agg_records a ON a.report = r.id WHERE r.kind = 'aggregate'" COND       \
    " GROUP BY " DOMAIN_KEY ", " REPORT_DAY
#define ROLLUP_DAYS_UPSERT                                                                         \
    " ON CONFLICT (domain, day) DO UPDATE SET " ROLLUP_ADD("rollup_days", "reports") ","           \
    " " ROLLUP_ADD("rollup_days", "messages") ", " ROLLUP_ADD("rollup_days", "dmarc_pass") ","     \
    " " ROLLUP_ADD("rollup_days", "spf_aligned") ", " ROLLUP_ADD("rollup_days", "dkim_aligned") "," \
    " " ROLLUP_ADD("rollup_days", "unaligned") ", " ROLLUP_ADD("rollup_days", "failing") ","       \
    " " ROLLUP_ADD("rollup_days", "dkim_pass_spf_fail") ", " ROLLUP_ADD("rollup_days", "forwarded") "," \
    " " ROLLUP_ADD("rollup_days", "disp_none") ", " ROLLUP_ADD("rollup_days", "disp_quarantine") "," \
    " " ROLLUP_ADD("rollup_days", "disp_reject") ","                                               \
    " first_begin = CASE WHEN excluded.first_begin < rollup_days.first_begin"                      \
    " THEN excluded.first_begin ELSE rollup_days.first_begin END,"                                 \
    " last_end = CASE WHEN excluded.last_end > rollup_days.last_end"                               \
    " THEN excluded.last_end ELSE rollup_days.last_end END"

/* rollup_counts: per domain and day, messages (and reports) by the
 * disposition applied, by the override reasons (the record's types joined
 * by ","), and by reporting organisation. */
#define ROLLUP_COUNTS_COLUMNS "domain, day, kind, name, reports, messages"
#define ROLLUP_DISPOSITIONS_SELECT(COND)                                                           \
    "SELECT " DOMAIN_KEY ", " REPORT_DAY ", 'disposition', " KEY("COALESCE(a.disposition, '')") "," \
    " COUNT(DISTINCT r.id), " ROLLUP_CLAMP(SUM_COUNT("a.count")) AGG_RECORDS COND                  \
    " GROUP BY " DOMAIN_KEY ", " REPORT_DAY ", " KEY("COALESCE(a.disposition, '')")
#define ROLLUP_OVERRIDES_SELECT(COND)                                                              \
    "SELECT " DOMAIN_KEY ", " REPORT_DAY ", 'override', " KEY("a.reasons") ","                     \
    " COUNT(DISTINCT r.id), " ROLLUP_CLAMP(SUM_COUNT("a.count")) AGG_RECORDS                       \
    " AND a.reasons IS NOT NULL" COND " GROUP BY " DOMAIN_KEY ", " REPORT_DAY ", " KEY("a.reasons")
#define ROLLUP_REPORTERS_SELECT(COND)                                                              \
    "SELECT " DOMAIN_KEY ", " REPORT_DAY ", 'reporter', " KEY("r.org") ","                         \
    " COUNT(*), " ROLLUP_CLAMP(SUM_COUNT("r.messages")) AGG_REPORTS COND                           \
    " GROUP BY " DOMAIN_KEY ", " REPORT_DAY ", " KEY("r.org")
#define ROLLUP_COUNTS_UPSERT                                                                       \
    " ON CONFLICT (domain, day, kind, name) DO UPDATE SET " ROLLUP_ADD("rollup_counts", "reports") \
    ", " ROLLUP_ADD("rollup_counts", "messages")

/* rollup_policies: per domain and day, the published policies as the
 * reports restate them ("" for a field left out), per reporter. */
#define POLICY_FIELDS                                                                              \
    POLICY_KEY("r.p") ", " POLICY_KEY("r.sp") ", " POLICY_KEY("r.np") ", " POLICY_KEY("r.pct") "," \
    " " POLICY_KEY("r.adkim") ", " POLICY_KEY("r.aspf") ", " POLICY_KEY("r.fo") ","                \
    " " POLICY_KEY("r.testing")
#define ROLLUP_POLICIES_COLUMNS                                                                    \
    "domain, day, p, sp, np, pct, adkim, aspf, fo, testing, org, reports, first_begin, last_end"
#define ROLLUP_POLICIES_SELECT(COND)                                                               \
    "SELECT " DOMAIN_KEY ", " REPORT_DAY ", " POLICY_FIELDS ", " KEY("r.org") ", COUNT(*),"        \
    " MIN(r.date_begin), MAX(r.date_end)" AGG_REPORTS COND                                         \
    " GROUP BY " DOMAIN_KEY ", " REPORT_DAY ", " POLICY_FIELDS ", " KEY("r.org")
#define ROLLUP_POLICIES_UPSERT                                                                     \
    " ON CONFLICT (domain, day, p, sp, np, pct, adkim, aspf, fo, testing, org) DO UPDATE SET"      \
    " " ROLLUP_ADD("rollup_policies", "reports") ","                                               \
    " first_begin = CASE WHEN excluded.first_begin < rollup_policies.first_begin"                  \
    " THEN excluded.first_begin ELSE rollup_policies.first_begin END,"                             \
    " last_end = CASE WHEN excluded.last_end > rollup_policies.last_end"                           \
    " THEN excluded.last_end ELSE rollup_policies.last_end END"

/* rollup_sources (migration 6): per source IP ("" when the record had
 * none), domain and day, the classification sums and the names the source
 * used (below); rollup_source_totals: the sums over all days, indexed by
 * messages for the top sources without a scan. */
#define ROLLUP_SOURCES_COLUMNS "source_ip, domain, day, " SOURCE_SUM_COLUMNS ", names"
/* The names: the SPF and DKIM auth domains ("spf", "dkim") and header
 * From domains ("from") the source used that day, one "kind<TAB>name" line
 * each, joined by newlines; a line may repeat (the views read them as a
 * set). The first result of each kind is a column of the record, its
 * lines made in the pass that sums the group's records: one line when the
 * group's records of that source agree on the name (nearly always), the
 * group's distinct lines otherwise (@LINES_OF@ x @LINES_END@: the
 * distinct values of x joined by newlines, schema.c). An existing row gets the group's lines
 * appended unless they are there already as one block. The names after
 * the first (in auth_more) are among the group's lines at ingest
 * (rollup_mem.c); the migrations add them one line at a time, each
 * appended only when absent. Before migration 6 they were rows of
 * rollup_source_names: a row per name and source, a table bigger than the
 * records, whose inserts and sort cost the most of the rollups at ingest. */
#define NAME_LINE(kind, name) kind " || '\t' || " KEY(name)
#define KIND_LINES(kind, col)                                                                      \
    "CASE WHEN MIN(NULLIF(" col ", '')) = MAX(NULLIF(" col ", ''))"                              \
    " THEN " NAME_LINE("'" kind "'", "MIN(" col ")")                                               \
    " ELSE @LINES_OF@" NAME_LINE("'" kind "'", "NULLIF(" col ", '')") "@LINES_END@ END"
#define SOURCE_NAMES                                                                               \
    "SUBSTR(COALESCE('\n' || " KIND_LINES("dkim", "a.dkim_domain") ", '')"                        \
    " || COALESCE('\n' || " KIND_LINES("from", "a.header_from") ", '')"                           \
    " || COALESCE('\n' || " KIND_LINES("spf", "a.spf_domain") ", ''), 2)"
#define ROLLUP_SOURCES_SELECT(COND)                                                                \
    "SELECT " IP_KEY ", " DOMAIN_KEY ", " REPORT_DAY ", " SOURCE_SUMS ", " SOURCE_NAMES            \
    AGG_RECORDS COND " GROUP BY " IP_KEY ", " DOMAIN_KEY ", " REPORT_DAY
/* The lines of excluded.names added to t.names unless there as a block. */
#define NAMES_MERGE(t)                                                                             \
    "names = CASE WHEN excluded.names = '' OR @STRPOS@('\n' || " t ".names || '\n',"              \
    " '\n' || excluded.names || '\n') > 0 THEN " t ".names WHEN " t ".names = ''"                 \
    " THEN excluded.names ELSE " t ".names || '\n' || excluded.names END"
#define ROLLUP_SOURCES_UPSERT                                                                      \
    " ON CONFLICT (source_ip, domain, day) DO UPDATE SET " SOURCE_SUM_ADD("rollup_sources") ","    \
    " " NAMES_MERGE("rollup_sources")
#define ROLLUP_TOTALS_COLUMNS "source_ip, domain, " SOURCE_SUM_COLUMNS
#define ROLLUP_TOTALS_SELECT(COND)                                                                 \
    "SELECT " IP_KEY ", " DOMAIN_KEY ", " SOURCE_SUMS AGG_RECORDS COND                             \
    " GROUP BY " IP_KEY ", " DOMAIN_KEY ""
#define ROLLUP_TOTALS_UPSERT                                                                       \
    " ON CONFLICT (source_ip, domain) DO UPDATE SET " SOURCE_SUM_ADD("rollup_source_totals")
/* The same in two statements, for SQLite, which counts the sources new to
 * the totals (rollup_domain_sources) as it adds them (rollup_mem.c): a row
 * of totals ($1 source, $2 domain, $3.. the sums) inserted unless the
 * totals hold the source (SQLite's changes() then says whether it was);
 * else added to the row. Not RETURNING: SQLite runs a statement with
 * RETURNING as one that may write many rows, with a statement journal. */
#define ROLLUP_TOTALS_NEW                                                                          \
    "INSERT INTO rollup_source_totals (" ROLLUP_TOTALS_COLUMNS ", day, names) VALUES ($1, $2, $3,"  \
    " $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
/* col = col + $n, saturated as ROLLUP_ADD does. */
#define ROLLUP_ADD_PARAM(col, n)                                                                   \
    col " = CASE WHEN " col " > " ROLLUP_MAX " - $" n " THEN " ROLLUP_MAX " ELSE " col " + $" n " END"
#define TOTALS_ADD_SET                                                                             \
    "UPDATE rollup_source_totals SET " ROLLUP_ADD_PARAM("messages", "3") ","                      \
    " " ROLLUP_ADD_PARAM("aligned", "4") ", " ROLLUP_ADD_PARAM("unaligned", "5") ","               \
    " " ROLLUP_ADD_PARAM("failing", "6") ", " ROLLUP_ADD_PARAM("dkim_pass_spf_fail", "7") ","      \
    " " ROLLUP_ADD_PARAM("forwarded", "8")
/* The sums added to a source's totals, which then have their days in
 * rollup_sources (no day of their own). */
#define ROLLUP_TOTALS_ADD                                                                          \
    TOTALS_ADD_SET ", day = NULL, names = '' WHERE source_ip = $1 AND domain = $2"
/* The sums added to a source's totals that keep their one day, and the
 * lines of $10 (its names that day) merged into theirs, as NAMES_MERGE. */
#define ROLLUP_TOTALS_ADD_SAME_DAY                                                                 \
    TOTALS_ADD_SET ", names = CASE WHEN $10 = '' OR @STRPOS@('\n' || names || '\n',"              \
    " '\n' || $10 || '\n') > 0 THEN names WHEN names = '' THEN $10 ELSE names || '\n' || $10 END" \
    " WHERE source_ip = $1 AND domain = $2 AND day = $9"
/* A stored source's one day (NULL: its days are in rollup_sources), its
 * names that day and its sums. */
#define ROLLUP_TOTALS_READ                                                                         \
    "SELECT day, names, " SOURCE_SUM_COLUMNS " FROM rollup_source_totals"                          \
    " WHERE source_ip = $1 AND domain = $2"

/* Migration 7: the totals of a source seen on one day carry that day and
 * its names, and it has no row in rollup_sources (SQLite's ingest,
 * rollup_mem.c; PostgreSQL's ingest writes every source's rows of the day
 * and leaves the day NULL). The views read the rows by day through
 * rollup_source_days, where both kinds of source look alike. */
#define ROLLUP_SOURCE_DAYS_V7                                                                      \
    "ALTER TABLE rollup_source_totals ADD COLUMN day BIGINT;\n"                                    \
    "ALTER TABLE rollup_source_totals ADD COLUMN names TEXT NOT NULL DEFAULT '';\n"                \
    "DROP VIEW IF EXISTS rollup_source_days;\n"                                                    \
    "CREATE VIEW rollup_source_days AS SELECT " ROLLUP_SOURCES_COLUMNS " FROM rollup_sources"       \
    " UNION ALL SELECT " ROLLUP_SOURCES_COLUMNS " FROM rollup_source_totals WHERE day IS NOT NULL;\n"

/* Migration 3's rollup_sources and rollup_source_names, as it built them
 * (its text must not change); migration 6 makes them one table. */
#define ROLLUP_SOURCES_V3_COLUMNS "source_ip, domain, day, " SOURCE_SUM_COLUMNS
#define ROLLUP_SOURCES_V3_SELECT                                                                   \
    "SELECT " IP_KEY ", " DOMAIN_KEY ", " REPORT_DAY ", " SOURCE_SUMS                              \
    AGG_RECORDS " GROUP BY " IP_KEY ", " DOMAIN_KEY ", " REPORT_DAY
#define NAME_OF_KIND                                                                               \
    "CASE k.column1 WHEN 'spf' THEN a.spf_domain WHEN 'dkim' THEN a.dkim_domain"                   \
    " ELSE a.header_from END"
#define ROLLUP_NAMES_V3_COLUMNS "source_ip, domain, day, kind, name"
/* One name from auth_more of a record of report $1 ($2 its source, $3
 * the kind, $4 the name), added by migration 3 after its text. */
#define ROLLUP_NAME_V3_INSERT                                                                      \
    "INSERT INTO rollup_source_names (" ROLLUP_NAMES_V3_COLUMNS ")"                                \
    " SELECT " KEY("CAST($2 AS TEXT)") ", " DOMAIN_KEY ", " REPORT_DAY ", CAST($3 AS TEXT),"       \
    " " KEY("CAST($4 AS TEXT)") " FROM reports r WHERE r.id = $1 ON CONFLICT DO NOTHING"
#define ROLLUP_NAMES_V3_SELECT                                                                     \
    "SELECT DISTINCT " IP_KEY ", " DOMAIN_KEY ", " REPORT_DAY ", k.column1,"                       \
    " " KEY(NAME_OF_KIND) REPORTS_R " JOIN agg_records a ON a.report = r.id"                       \
    " CROSS JOIN (VALUES ('spf'), ('dkim'), ('from')) AS k"                                        \
    " WHERE r.kind = 'aggregate' AND " NAME_OF_KIND " <> ''"                                       \
    " ORDER BY 1, 2, 3, 4, 5"

/* INSERT ... SELECT ... upsert for one rollup. */
#define ROLLUP_INSERT(table, COLUMNS, SELECT, UPSERT)                                              \
    "INSERT INTO " table " (" COLUMNS ") " SELECT UPSERT

#define ROLLUP_TOTALS_INSERT(COND)                                                                 \
    ROLLUP_INSERT("rollup_source_totals", ROLLUP_TOTALS_COLUMNS, ROLLUP_TOTALS_SELECT(COND),       \
                  ROLLUP_TOTALS_UPSERT)
/* The rollups keyed by domain and day. */
#define ROLLUP_INSERTS_BY_DAY(F, COND)                                                             \
    F(ROLLUP_INSERT("rollup_days", ROLLUP_DAYS_COLUMNS, ROLLUP_DAYS_SELECT(COND),                  \
                    ROLLUP_DAYS_UPSERT))                                                           \
    F(ROLLUP_INSERT("rollup_counts", ROLLUP_COUNTS_COLUMNS, ROLLUP_DISPOSITIONS_SELECT(COND),      \
                    ROLLUP_COUNTS_UPSERT))                                                         \
    F(ROLLUP_INSERT("rollup_counts", ROLLUP_COUNTS_COLUMNS, ROLLUP_OVERRIDES_SELECT(COND),         \
                    ROLLUP_COUNTS_UPSERT))                                                         \
    F(ROLLUP_INSERT("rollup_counts", ROLLUP_COUNTS_COLUMNS, ROLLUP_REPORTERS_SELECT(COND),         \
                    ROLLUP_COUNTS_UPSERT))                                                         \
    F(ROLLUP_INSERT("rollup_policies", ROLLUP_POLICIES_COLUMNS, ROLLUP_POLICIES_SELECT(COND),      \
                    ROLLUP_POLICIES_UPSERT))
/* Migration 3's text: every rollup of the stored reports, in its layout. */
#define ROLLUP_INSERTS_V3(F)                                                                       \
    ROLLUP_INSERTS_BY_DAY(F, "")                                                                   \
    F(ROLLUP_INSERT("rollup_sources", ROLLUP_SOURCES_V3_COLUMNS, ROLLUP_SOURCES_V3_SELECT,         \
                    " ON CONFLICT (source_ip, domain, day) DO UPDATE SET "                         \
                    SOURCE_SUM_ADD("rollup_sources")))                                             \
    F(ROLLUP_TOTALS_INSERT(""))                                                                    \
    F(ROLLUP_INSERT("rollup_source_names", ROLLUP_NAMES_V3_COLUMNS, ROLLUP_NAMES_V3_SELECT,        \
                    " ON CONFLICT DO NOTHING"))
/* Migration 6 makes rollup_sources and rollup_source_names of migration 3
 * one table: the sums as they are, each row's names joined into lines. */
#define ROLLUP_SOURCES_TABLE(name)                                                                 \
    "CREATE TABLE " name " ("                                                                      \
    " source_ip TEXT NOT NULL, domain TEXT NOT NULL, day BIGINT NOT NULL,"                         \
    " messages BIGINT NOT NULL, aligned BIGINT NOT NULL, unaligned BIGINT NOT NULL,"               \
    " failing BIGINT NOT NULL, dkim_pass_spf_fail BIGINT NOT NULL, forwarded BIGINT NOT NULL,"     \
    " names TEXT NOT NULL,"                                                                        \
    " PRIMARY KEY (source_ip, domain, day))@WITHOUT_ROWID@;\n"
#define ROLLUP_SOURCES_V6_CONVERT                                                                  \
    ROLLUP_SOURCES_TABLE("rollup_sources_v6")                                                      \
    "INSERT INTO rollup_sources_v6 (" ROLLUP_SOURCES_COLUMNS ")"                                   \
    " SELECT s.source_ip, s.domain, s.day, s.messages, s.aligned, s.unaligned, s.failing,"         \
    " s.dkim_pass_spf_fail, s.forwarded, COALESCE((SELECT @LIST@(" NAME_LINE("n.kind", "n.name")  \
    ", '\n') FROM rollup_source_names n WHERE n.source_ip = s.source_ip AND n.domain = s.domain"   \
    " AND n.day = s.day), '') FROM rollup_sources s;\n"                                            \
    "DROP TABLE rollup_sources;\n"                                                                 \
    "DROP TABLE rollup_source_names;\n"                                                            \
    "ALTER TABLE rollup_sources_v6 RENAME TO rollup_sources;\n"

/* rollup_domain_sources (migration 4): per domain, how many sources
 * (rows of rollup_source_totals) it has, so that "N other sources" is one
 * row read rather than a count of millions. A source is counted when its
 * totals row is created. SQLite, whose writer is alone, counts the
 * (source, domain) pairs not yet in the totals just before they are added
 * (rollup_mem.c). PostgreSQL, where several
 * ingests may add the same new source at once and neither sees the
 * other's uncommitted row, counts the rows the totals' upsert inserted
 * (xmax = 0: inserted, not updated; a second insert of the same key waits
 * for the first and then updates), in the same statement: the upsert
 * between ROLLUP_COUNTED_HEAD and ROLLUP_COUNTED_TAIL. */
#define ROLLUP_DOMAIN_SOURCES_UPSERT                                                               \
    " ON CONFLICT (domain) DO UPDATE SET " ROLLUP_ADD("rollup_domain_sources", "sources")
#define ROLLUP_COUNTED_HEAD "WITH t AS ("
#define ROLLUP_COUNTED_TAIL                                                                        \
    " RETURNING domain, xmax = 0 AS added)"                                                        \
    " INSERT INTO rollup_domain_sources (domain, sources)"                                         \
    " SELECT domain, COUNT(*) FROM t WHERE added GROUP BY domain" ROLLUP_DOMAIN_SOURCES_UPSERT
/* Migration 4 counts the sources of the totals migration 3 built. */
#define ROLLUP_DOMAIN_SOURCES_BUILD                                                                \
    "INSERT INTO rollup_domain_sources (domain, sources)"                                          \
    " SELECT domain, COUNT(*) FROM rollup_source_totals GROUP BY domain"

/* Ingest (rollup.c). */
/* The rollups by day of one stored report, added with SQL (rollup_mem.c
 * sums them in memory but for a report of too many rows). */
ms_status rollup_add_report_days(ms_store *store, int64_t report);
/* The statements in store->rollup_sql. SQLite's: a SELECT and a
 * single-row upsert per rollup by day, then those of the rollups per
 * source. PostgreSQL's (store_backend.row_add): at 2i a rollup by day's
 * whole INSERT ... SELECT (with $1 = $2 the report), at 2i + 1 its
 * table's statement of arrays (rollup_counts' three kinds share
 * D_DISPOSITION's, the other two are NULL); at ROLLUP_SQL_SOURCE_ROW
 * and ROLLUP_SQL_TOTALS_NEW those of rollup_sources and of
 * rollup_source_totals (counting the sources new to it,
 * ROLLUP_COUNTED_HEAD); no statement at the other two. */
enum {
    ROLLUP_BY_DAY_ROWS = 5,
    ROLLUP_SQL_SOURCE_ROW = 2 * ROLLUP_BY_DAY_ROWS, /* ROLLUP_SOURCES_COLUMNS as $1.. */
    ROLLUP_SQL_TOTALS_NEW,                          /* ROLLUP_TOTALS_NEW */
    ROLLUP_SQL_TOTALS_ADD,                          /* ROLLUP_TOTALS_ADD */
    ROLLUP_SQL_TOTALS_ADD_SAME_DAY,                 /* ROLLUP_TOTALS_ADD_SAME_DAY */
    ROLLUP_SQL_TOTALS_READ,                         /* ROLLUP_TOTALS_READ */
    ROLLUP_SQL_DOMAIN_SOURCES,                      /* ($1 domain) has $2 more sources */
    ROLLUP_ROW_STATEMENTS,
};

/* The rollups, summed in memory (rollup_mem.c): the report begun, each
 * of its records, its savepoint released (its sums join the group's,
 * written out if they grew past the bound; PostgreSQL: its transaction
 * about to commit) or rolled back, the whole group rolled back, and the
 * group's sums written. */
ms_status rollup_mem_begin(ms_store *store, const ms_report_agg_meta *meta);
ms_status rollup_mem_record(ms_store *store, const ms_report_agg_record *record,
                            const agg_derived *derived);
ms_status rollup_mem_report_done(ms_store *store);
void rollup_mem_report_drop(ms_store *store);
void rollup_mem_group_drop(ms_store *store);
ms_status rollup_mem_group_write(ms_store *store);
void rollup_mem_free(ms_store *store);
/* Builds store->rollup_sql in this backend's SQL, once. */
ms_status rollup_ingest_statements(ms_store *store);
/* Frees the statements rollup_ingest_statements built (store->rollup_sql). */
void rollup_free(char **sql);
/* After migration 3's text: the auth_more names of the records stored,
 * each added by insert_sql (ROLLUP_NAME_V3_INSERT's parameters). */
ms_status rollup_build_more_names(ms_store *store, const char *insert_sql);

#endif
