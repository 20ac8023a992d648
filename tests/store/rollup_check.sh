# Sourced by the store tests: check_rollups compares every rollup table
# (docs/store.md) with the same sums computed here, independently of the
# store's code, from the reports and records stored. Needs sql (a function
# printing rows as "a|b|c", as sqlite3 and psql -At do) and fail.

# The UTC day of a report's begin, also before 1970.
ROLLUP_DAY="(r.date_begin - ((r.date_begin % 86400) + 86400) % 86400)"
ROLLUP_PASS="(a.dkim = 'pass' OR a.spf = 'pass')"
ROLLUP_ANY="(a.dkim_pass = 1 OR a.spf_pass = 1)"

# "expected query" "rollup query": the two must print the same rows.
rollup_same() {
    local what=$1 want got
    want=$(sql "$2") || { fail "rollups: $what: the expected query failed"; return; }
    got=$(sql "$3") || { fail "rollups: $what: the rollup query failed"; return; }
    [[ $want == "$got" ]] ||
        fail "rollups: $what differ from the records: $(diff <(echo "$want") <(echo "$got") | head -6)"
}

check_rollups() {
    rollup_same "days" \
        "SELECT LOWER(r.domain), $ROLLUP_DAY, COUNT(DISTINCT r.id), COALESCE(SUM(a.count), 0),
                COALESCE(SUM(CASE WHEN $ROLLUP_PASS THEN a.count ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN a.spf = 'pass' THEN a.count ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN a.dkim = 'pass' THEN a.count ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN a.disposition = 'none' THEN a.count ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN a.disposition = 'quarantine' THEN a.count ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN a.disposition = 'reject' THEN a.count ELSE 0 END), 0),
                MIN(r.date_begin), MAX(r.date_end)
         FROM reports r LEFT JOIN agg_records a ON a.report = r.id WHERE r.kind = 'aggregate'
         GROUP BY 1, 2 ORDER BY 1, 2" \
        "SELECT domain, day, reports, messages, dmarc_pass, spf_aligned, dkim_aligned, disp_none,
                disp_quarantine, disp_reject, first_begin, last_end FROM rollup_days ORDER BY 1, 2"
    rollup_same "sources per day" \
        "SELECT COALESCE(a.source_ip, ''), LOWER(r.domain), $ROLLUP_DAY, SUM(a.count),
                SUM(CASE WHEN $ROLLUP_PASS THEN a.count ELSE 0 END),
                SUM(CASE WHEN NOT $ROLLUP_PASS AND $ROLLUP_ANY THEN a.count ELSE 0 END),
                SUM(CASE WHEN NOT $ROLLUP_PASS AND NOT $ROLLUP_ANY THEN a.count ELSE 0 END)
         FROM reports r JOIN agg_records a ON a.report = r.id WHERE r.kind = 'aggregate'
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3" \
        "SELECT source_ip, domain, day, messages, aligned, unaligned, failing FROM rollup_sources
         ORDER BY 1, 2, 3"
    rollup_same "source totals" \
        "SELECT COALESCE(a.source_ip, ''), LOWER(r.domain), SUM(a.count)
         FROM reports r JOIN agg_records a ON a.report = r.id WHERE r.kind = 'aggregate'
         GROUP BY 1, 2 ORDER BY 1, 2" \
        "SELECT source_ip, domain, messages FROM rollup_source_totals ORDER BY 1, 2"
    rollup_same "sources per domain" \
        "SELECT LOWER(r.domain), COUNT(DISTINCT COALESCE(a.source_ip, ''))
         FROM reports r JOIN agg_records a ON a.report = r.id WHERE r.kind = 'aggregate'
         GROUP BY 1 ORDER BY 1" \
        "SELECT domain, sources FROM rollup_domain_sources ORDER BY 1"
    rollup_same "reporters" \
        "SELECT LOWER(r.domain), $ROLLUP_DAY, r.org, COUNT(*), SUM(r.messages)
         FROM reports r WHERE r.kind = 'aggregate' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3" \
        "SELECT domain, day, name, reports, messages FROM rollup_counts WHERE kind = 'reporter'
         ORDER BY 1, 2, 3"
    rollup_same "dispositions" \
        "SELECT LOWER(r.domain), $ROLLUP_DAY, COALESCE(a.disposition, ''), SUM(a.count)
         FROM reports r JOIN agg_records a ON a.report = r.id WHERE r.kind = 'aggregate'
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3" \
        "SELECT domain, day, name, messages FROM rollup_counts WHERE kind = 'disposition'
         ORDER BY 1, 2, 3"
    rollup_same "policies" \
        "SELECT LOWER(r.domain), COALESCE(r.p, ''), COALESCE(r.pct, ''), COUNT(*)
         FROM reports r WHERE r.kind = 'aggregate' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3" \
        "SELECT domain, p, pct, SUM(reports) FROM rollup_policies GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    rollup_same "header From domains" \
        "SELECT DISTINCT COALESCE(a.source_ip, ''), LOWER(r.domain), a.header_from
         FROM reports r JOIN agg_records a ON a.report = r.id
         WHERE r.kind = 'aggregate' AND a.header_from <> '' ORDER BY 1, 2, 3" \
        "SELECT DISTINCT source_ip, domain, name FROM rollup_source_names WHERE kind = 'from'
         ORDER BY 1, 2, 3"
}
