# shellcheck shell=bash
# The DMARC report figures of scripts/bench (sourced there; bash; issue 17).
#   Recording: two daemons with the same configuration and the same zone
#   (every corpus domain's DMARC record asks for reports, rua=), one
#   without [dmarc.reports] and one recording every evaluation into SQLite,
#   in alternating rounds at 16 connections: CPU per message and p99.
#   The report command: `connector-milter report --out` over a database of
#   BENCH_REPORT_EVALUATIONS (1000000) evaluations generated directly
#   (tests/bench/report_db_gen.py), and a quarter of it, to show how wall
#   clock and peak RSS (/usr/bin/time) grow with the records.
#   Knobs: BENCH_REPORTS_ROUNDS (7), BENCH_REPORTS_MESSAGES (600),
#   BENCH_REPORT_EVALUATIONS (1000000; 0 leaves the report command out).
#
# Uses from scripts/bench: W DAEMON LOAD RESULTS PY PER_CONNECTION HERE
# start stop spec_for write_ours_conf load.

reports_bench() {
    local rounds=${BENCH_REPORTS_ROUNDS:-7} messages=${BENCH_REPORTS_MESSAGES:-600}
    local v zone=$W/reports.zone
    local -A spec=([off]=$(spec_for inet 40) [on]=$(spec_for inet 41)) pid=()
    sed -E 's/^(_dmarc\.([^ ]+)\. .*aspf=r)"$/\1; rua=mailto:dmarc@\2"/' "$W/bench.zone" >"$zone"
    grep -q 'rua=mailto:' "$zone" || { echo "reports: no DMARC record to add rua= to" >&2; return 1; }
    # Both read the zone with rua= (the same parsing); only "on" records.
    for v in off on; do
        write_ours_conf "$W/reports-$v.conf" "${spec[$v]}" "static_zone = \"$zone\"
offline = true"
        [ "$v" = on ] && printf '\n[dmarc.reports]\ndatabase = "%s"\n' "$W/reports-on.sqlite" >>"$W/reports-on.conf"
        start "reports-$v" "${spec[$v]}" "$DAEMON" -R -f -c "$W/reports-$v.conf" -p "${spec[$v]}" || return 1
        pid[$v]=$STARTED_PID
        "$LOAD" --corpus "$W/corpus" --target "${spec[$v]}" --messages 64 --connections 4 >/dev/null 2>&1 || true
    done
    echo "== reports: $rounds alternating rounds of $messages messages, recording off and on"
    for _ in $(seq 1 "$rounds"); do
        for v in off on; do
            load reports "reports-$v" --messages "$messages" --connections 16 --per-connection "$PER_CONNECTION" \
                --target "${spec[$v]}" --pid "${pid[$v]}"
        done
    done
    stop "${pid[off]}" "${pid[on]}"
    local recorded
    recorded=$($PY -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM dmarc_evaluation").fetchone()[0])' "$W/reports-on.sqlite")
    echo "RESULT label=reports-recorded evaluations=$recorded" | tee -a "$RESULTS"

    # The report command over generated databases, one UTC day (skipped
    # with BENCH_REPORT_EVALUATIONS=0).
    local n day=2026-12-03 begin=1796256000
    [ "${BENCH_REPORT_EVALUATIONS:-1000000}" -gt 0 ] || return 0
    for n in $((${BENCH_REPORT_EVALUATIONS:-1000000} / 4)) "${BENCH_REPORT_EVALUATIONS:-1000000}"; do
        local db=$W/report-$n.sqlite out=$W/report-out-$n
        write_ours_conf "$W/report-$n.conf" "$(spec_for inet 42)" "offline = true"
        printf '\n[dmarc.reports]\ndatabase = "%s"\nsubmitter = "mx.contoso.test"\n' "$db" >>"$W/report-$n.conf"
        mkdir -p "$out"
        "$DAEMON" report -c "$W/report-$n.conf" --period "$day" --dry-run >/dev/null || return 1  # the schema
        $PY "$HERE/tests/bench/report_db_gen.py" "$db" "$n" "$begin" || return 1
        local largest
        largest=$($PY -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT max(c) FROM (SELECT count(*) c FROM dmarc_evaluation GROUP BY policy_domain)").fetchone()[0])' "$db")
        sync
        /usr/bin/time -f "wall_s=%e rss_kb=%M user_s=%U sys_s=%S" -o "$W/report-$n.time" \
            "$DAEMON" report -c "$W/report-$n.conf" --period "$day" --out "$out" >"$W/report-$n.log" 2>&1 || {
            tail -3 "$W/report-$n.log" >&2
            return 1
        }
        echo "RESULT label=report-command evaluations=$n largest_domain=$largest reports=$(find "$out" -type f | wc -l) \
bytes=$(du -sb "$out" | cut -f1) $(tail -1 "$W/report-$n.time")" | tee -a "$RESULTS"
        rm -rf "$out" "$db" "$db-wal" "$db-shm"
    done
}

reports_summary() {
    $PY - "$RESULTS" <<'PY'
import re, statistics, sys
rows = [dict(re.findall(r"(\w+)=(\S+)", line.split("RESULT", 1)[1]))
        for line in open(sys.argv[1]) if "RESULT" in line and ("transport=reports" in line or "label=report" in line)]
def runs(label):
    return [r for r in rows if r.get("label") == label and "mps" in r]
print("### DMARC report recording and the report command (issue 17)")
print("| recording | rounds | msg/s | p50 ms | p99 ms | max ms | CPU ms/msg | errors |")
print("|---|---|---|---|---|---|---|---|")
cpu, p99 = {}, {}
for label in ("reports-off", "reports-on"):
    rs = runs(label)
    if not rs:
        continue
    cpu[label] = [1000 * float(r["cpu_s"]) / float(r["messages"]) for r in rs]
    p99[label] = [float(r["p99_ms"]) for r in rs]
    med = lambda k: statistics.median(float(r[k]) for r in rs)
    print("| %s | %d | %.0f | %.2f | %.2f | %.2f | %.3f | %d |" % (
        label.split("-")[1], len(rs), med("mps"), med("p50_ms"), med("p99_ms"), max(float(r["max_ms"]) for r in rs),
        statistics.median(cpu[label]), sum(int(float(r.get("errors", 0))) for r in rs)))
if len(cpu) == 2:
    ratios = [on / off for on, off in zip(cpu["reports-on"], cpu["reports-off"])]
    deltas = [on - off for on, off in zip(p99["reports-on"], p99["reports-off"])]
    print("CPU per message, on relative to off, per round: %s; median %+.1f%% (target at most +5%%)" % (
        " ".join("%.3f" % r for r in ratios), 100 * (statistics.median(ratios) - 1)))
    print("p99, on minus off, per round (ms): %s; median %+.2f ms (target at most +1 ms)" % (
        " ".join("%+.2f" % d for d in deltas), statistics.median(deltas)))
for r in rows:
    if r.get("label") == "reports-recorded":
        print("evaluations recorded by the daemon with recording on: %s" % r["evaluations"])
cmd = [r for r in rows if r.get("label") == "report-command"]
if cmd:
    print()
    print("| evaluations | largest domain | reports | .xml.gz bytes | wall s | user s | sys s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in cmd:
        print("| %s | %s | %s | %s | %s | %s | %s | %.1f |" % (r["evaluations"], r["largest_domain"], r["reports"],
              r["bytes"], r["wall_s"], r["user_s"], r["sys_s"], int(r["rss_kb"]) / 1024))
PY
}
