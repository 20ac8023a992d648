#!/usr/bin/env bash
# startup.sh [BIN] [BASE_BIN]: the start-up of the mailsec command, whole
# process, side by side in one hyperfine run with kdig's:
#   mailsec --version
#   mailsec dmarc check --record 'v=DMARC1; p=none'   (no DNS, no store)
#   kdig -V                                            (knot's DNS client)
#   kdig +tcp +retry=0 @127.0.0.1 -p 9 example.org    (a query to a closed port)
# and the same two mailsec commands of BASE_BIN when given (another build,
# e.g. one from before a change). Then, per mailsec binary: the shared
# libraries the loader maps (LD_DEBUG=libs) and its relocations
# (LD_DEBUG=statistics). BENCH_RUNS runs each (default 300), after 30 warm-up
# runs; the load average before and after. Times above the core count's
# load are not comparable with a quiet run: user + system time (printed by
# hyperfine) moves less than wall time.
set -uo pipefail
BIN=${1:-build/src/mailsec}
BASE=${2:-}
RUNS=${BENCH_RUNS:-300}
command -v hyperfine >/dev/null || { echo "startup.sh: needs hyperfine (scripts/deps.txt)" >&2; exit 2; }
command -v kdig >/dev/null || { echo "startup.sh: needs kdig (knot-dnsutils)" >&2; exit 2; }
RECORD="v=DMARC1; p=none"

commands=(-n "mailsec --version" "$BIN --version"
          -n "mailsec dmarc check --record" "$BIN dmarc check --record '$RECORD'")
if [[ -n $BASE ]]; then
    commands+=(-n "base: mailsec --version" "$BASE --version"
               -n "base: mailsec dmarc check --record" "$BASE dmarc check --record '$RECORD'")
fi
commands+=(-n "kdig -V" "kdig -V"
           -n "kdig, closed port" "kdig +tcp +retry=0 +timeout=1 @127.0.0.1 -p 9 example.org")

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
json=$(mktemp)
# -N: no shell between; -i: kdig's query to a closed port exits 9
hyperfine -N -i -w 30 -r "$RUNS" --style none --export-json "$json" "${commands[@]}" || exit 2
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
# ms; the ratio is the median's against kdig -V's
jq -r '(.results[] | select(.command == "kdig -V") | .median) as $kdig |
    ["command", "median", "min", "mean", "user", "system", "x kdig -V"],
    (.results[] | [.command, (.median, .min, .mean, .user, .system | . * 1000 | . * 10 | round / 10),
                   (.median / $kdig * 100 | round / 100)])
    | @tsv' "$json" | column -t -s $'\t'
rm -f "$json"

# CPU time (user + system, from wait4), the commands interleaved:
# BENCH_ROUNDS rounds (default 15) of 20 runs of each, so a change in the
# machine's load falls on every command alike; per command the median of
# the rounds' means, and its ratio to kdig -V's. It moves least with load.
/usr/bin/python3 - "${BENCH_ROUNDS:-15}" "$BIN" "$RECORD" ${BASE:+"$BASE"} <<'PY'
import os, statistics, subprocess, sys
rounds, new, record, base = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
commands = [("mailsec --version", [new, "--version"]),
            ("mailsec dmarc check --record", [new, "dmarc", "check", "--record", record])]
for b in base:
    commands += [("base: mailsec --version", [b, "--version"]),
                 ("base: mailsec dmarc check --record", [b, "dmarc", "check", "--record", record])]
commands += [("kdig -V", ["kdig", "-V"])]
def cpu_ms(argv):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, ru = os.wait4(p.pid, 0)
    return (ru.ru_utime + ru.ru_stime) * 1000
means = {name: [] for name, _ in commands}
for _ in range(rounds):
    for name, argv in commands:
        means[name].append(statistics.mean(cpu_ms(argv) for _ in range(20)))
kdig = statistics.median(means["kdig -V"])
print(f"CPU time, interleaved ({rounds} rounds of 20 runs each): median of the rounds' means")
for name, _ in commands:
    m = statistics.median(means[name])
    print(f"  {name:36} {m:6.2f} ms  x kdig -V {m / kdig:.2f}")
PY
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"

for bin in "$BIN" ${BASE:+"$BASE"}; do
    tmp=$(mktemp -d)
    LD_DEBUG=libs LD_DEBUG_OUTPUT=$tmp/libs "$bin" dmarc check --record "$RECORD" >/dev/null 2>&1
    LD_DEBUG=statistics LD_DEBUG_OUTPUT=$tmp/stats "$bin" dmarc check --record "$RECORD" >/dev/null 2>&1
    echo "$bin dmarc check: $(cat "$tmp"/libs.* | grep -c 'calling init') libraries," \
        "$(cat "$tmp"/stats.* | sed -n 's/.*final number of relocations: //p' | head -1) symbol relocations," \
        "$(cat "$tmp"/stats.* | sed -n 's/.*number of relative relocations: //p' | head -1) relative"
    rm -rf "$tmp"
done
