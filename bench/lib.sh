# Shared by the benchmark scripts (sourced): timing runs that may fail, and
# reading bench/dnsdelay's query log.

ms_now() { date +%s%3N; }

# The median of the numbers on stdin, one a line (nothing for no lines).
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }

# timed_run OUT command...: runs the command (its output to OUT) and prints
# its wall time in ms, or "failed STATUS" when its exit status is 2 or more
# (mailsec: 0 ok, 1 problems found, 2 could not check; above: killed or
# crashed). A failed run is never counted as a time.
timed_run() {
    local out=$1 t0 t1 status=0
    shift
    t0=$(ms_now)
    "$@" >"$out" 2>&1 || status=$?
    t1=$(ms_now)
    if ((status >= 2)); then
        echo "failed $status"
    else
        echo $((t1 - t0))
    fi
}

# relay_lines LOG: the number of lines in the relay's log so far (a mark).
relay_lines() { wc -l <"$1"; }

# relay_queries LOG MARK: the queries the relay logged after MARK.
relay_queries() { tail -n +"$(($2 + 1))" "$1" | grep -c '^query ' || true; }

# relay_rounds LOG MARK DELAY_MS: the round trips the queries logged after
# MARK needed one after another: the longest chain of queries each of which
# arrived at least DELAY_MS after the one before it (an answer is held
# DELAY_MS, so a query that waited for one comes at least that much later;
# 10% off for the clock's rounding). Queries sent together count once
# however spread out their start is.
relay_rounds() {
    tail -n +"$(($2 + 1))" "$1" | awk -v d="$3" '
        $1 == "query" {
            depth = 1
            for (i = 1; i <= n; i++)
                if ($2 - t[i] >= 0.9 * d && dep[i] + 1 > depth)
                    depth = dep[i] + 1
            t[++n] = $2; dep[n] = depth
            if (depth > rounds) rounds = depth
        }
        END { print rounds + 0 }'
}
