# Sourced by the store tests: check_rollups compares every rollup table
# (docs/store.md) with the same sums computed here, independently of the
# store's code, from the reports and records stored. Needs sql (a function
# printing rows as "a|b|c", as sqlite3 and psql -At do) and fail.

# The UTC day of a report's begin, also before 1970.
ROLLUP_DAY="(r.date_begin - ((r.date_begin % 86400) + 86400) % 86400)"
ROLLUP_PASS="(a.dkim = 'pass' OR a.spf = 'pass')"
ROLLUP_ANY="(a.dkim_pass = 1 OR a.spf_pass = 1)"
ROLLUP_DKIM_ONLY="(a.dkim_pass = 1 AND a.spf_pass = 0)"
# an override reason of type forwarded or mailing_list, byte for byte
# (REPLACE: the same in both databases, and not the store's own SQL)
ROLLUP_FORWARDED="(REPLACE(a.reasons, 'forwarded', '') <> a.reasons
                   OR REPLACE(a.reasons, 'mailing_list', '') <> a.reasons)"
# A source's messages aligned, unaligned, failing, passing DKIM only and
# forwarded: the columns rollup_sources and rollup_source_totals share.
ROLLUP_SOURCE_SUMS="SUM(CASE WHEN $ROLLUP_PASS THEN a.count ELSE 0 END),
                SUM(CASE WHEN NOT $ROLLUP_PASS AND $ROLLUP_ANY THEN a.count ELSE 0 END),
                SUM(CASE WHEN NOT $ROLLUP_PASS AND NOT $ROLLUP_ANY THEN a.count ELSE 0 END),
                SUM(CASE WHEN $ROLLUP_DKIM_ONLY THEN a.count ELSE 0 END),
                SUM(CASE WHEN $ROLLUP_FORWARDED THEN a.count ELSE 0 END)"

# "expected query" "rollup query": the two must print the same rows.
rollup_same() {
    local what=$1 want got
    want=$(sql "$2") || { fail "rollups: $what: the expected query failed"; return; }
    got=$(sql "$3") || { fail "rollups: $what: the rollup query failed"; return; }
    if [[ $want == "$got" ]]; then
        ok "rollups: $what equal the records' sums"
    else
        fail "rollups: $what differ from the records: $(diff <(echo "$want") <(echo "$got") | head -6)"
    fi
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
        "SELECT COALESCE(a.source_ip, ''), LOWER(r.domain), $ROLLUP_DAY, SUM(a.count), $ROLLUP_SOURCE_SUMS
         FROM reports r JOIN agg_records a ON a.report = r.id WHERE r.kind = 'aggregate'
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3" \
        "SELECT source_ip, domain, day, messages, aligned, unaligned, failing, dkim_pass_spf_fail,
                forwarded FROM rollup_source_days ORDER BY 1, 2, 3"
    rollup_same "source totals" \
        "SELECT COALESCE(a.source_ip, ''), LOWER(r.domain), SUM(a.count), $ROLLUP_SOURCE_SUMS
         FROM reports r JOIN agg_records a ON a.report = r.id WHERE r.kind = 'aggregate'
         GROUP BY 1, 2 ORDER BY 1, 2" \
        "SELECT source_ip, domain, messages, aligned, unaligned, failing, dkim_pass_spf_fail, forwarded
         FROM rollup_source_totals ORDER BY 1, 2"
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
    local want got
    want=$(sql "SELECT DISTINCT COALESCE(a.source_ip, ''), LOWER(r.domain), $ROLLUP_DAY, 'dkim', a.dkim_domain
                FROM reports r JOIN agg_records a ON a.report = r.id
                WHERE r.kind = 'aggregate' AND a.dkim_domain <> ''
                UNION SELECT DISTINCT COALESCE(a.source_ip, ''), LOWER(r.domain), $ROLLUP_DAY, 'from', a.header_from
                FROM reports r JOIN agg_records a ON a.report = r.id
                WHERE r.kind = 'aggregate' AND a.header_from <> ''
                UNION SELECT DISTINCT COALESCE(a.source_ip, ''), LOWER(r.domain), $ROLLUP_DAY, 'spf', a.spf_domain
                FROM reports r JOIN agg_records a ON a.report = r.id
                WHERE r.kind = 'aggregate' AND a.spf_domain <> ''" | LC_ALL=C sort) ||
        fail "rollups: names: the expected query failed"
    got=$(rollup_names | LC_ALL=C sort -u) || fail "rollups: names: the rollup query failed"
    # the header From domains exactly; the first SPF and DKIM domains of
    # each record among the names (the others, from auth_more, besides)
    [[ $(grep '|from|' <<<"$want") == "$(grep '|from|' <<<"$got")" ]] ||
        fail "rollups: the header From names differ from the records: $(diff <(grep '|from|' <<<"$want") <(grep '|from|' <<<"$got") | head -6)"
    local missing
    missing=$(LC_ALL=C comm -23 <(echo "$want") <(echo "$got"))
    [[ -z $missing ]] || fail "rollups: names missing: $(head -3 <<<"$missing")"
}

# The names of the rows by day (rollup_source_days, docs/store.md), one "source|domain|day|kind|name"
# row per line of each row's names: a row's lines are joined by newlines,
# written here as "|" to keep one row per output line.
rollup_names() {
    sql "SELECT source_ip, domain, day, REPLACE(REPLACE(names, '
', '#'), '	', '|') FROM rollup_source_days WHERE names <> ''" |
        awk -F'|' '{ n = split($0, f, "|"); head = f[1] "|" f[2] "|" f[3]
                     rest = substr($0, length(head) + 2); m = split(rest, lines, "#")
                     for (i = 1; i <= m; i++) print head "|" lines[i] }'
}
