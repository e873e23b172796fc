# The metrics figure of scripts/bench (sourced there; bash; issue 18): the
# cost of the /metrics endpoint under load. Two daemons with the same
# configuration, without [metrics] and with [metrics] listen, in
# alternating rounds; while the second one is under load a scraper reads
# its /metrics every BENCH_METRICS_SCRAPE_MS (100 ms, a hundred times
# Prometheus's usual rate), so that a scrape that held sessions up would
# show in their latency. The counters themselves are always counted (a few
# relaxed atomic adds and clock reads per event): both daemons pay that,
# and tests/bench/metrics_cost measures it apart.
#
# Uses from scripts/bench: W DAEMON LOAD RESULTS PY PER_CONNECTION BUILD_DIR
# start stop spec_for write_ours_conf load.

metrics_bench() {
    local rounds=${BENCH_METRICS_ROUNDS:-7} messages=${BENCH_METRICS_MESSAGES:-600}
    local every_ms=${BENCH_METRICS_SCRAPE_MS:-100} port=19890
    local off_spec on_spec off_pid on_pid scraper r
    off_spec=$(spec_for inet 30); on_spec=$(spec_for inet 31)
    write_ours_conf "$W/metrics-off.conf" "$off_spec" 'nameservers = ["127.0.0.1"]'
    write_ours_conf "$W/metrics-on.conf" "$on_spec" 'nameservers = ["127.0.0.1"]'
    printf '\n[metrics]\nlisten = "127.0.0.1:%s"\n' "$port" >>"$W/metrics-on.conf"
    start metrics-off "$off_spec" "$DAEMON" -R -f -c "$W/metrics-off.conf" -p "$off_spec" || return 1
    off_pid=$STARTED_PID
    start metrics-on "$on_spec" "$DAEMON" -R -f -c "$W/metrics-on.conf" -p "$on_spec" || return 1
    on_pid=$STARTED_PID
    local common=(--messages "$messages" --connections 16 --per-connection "$PER_CONNECTION")
    for spec in "$off_spec" "$on_spec"; do
        "$LOAD" --corpus "$W/corpus" --target "$spec" --messages 64 --connections 4 >/dev/null 2>&1 || true
    done
    echo "== metrics: $rounds alternating rounds of $messages messages; /metrics scraped every $every_ms ms"
    # The scraper: one GET per interval, each timed; its summary line goes
    # to the results when it is stopped.
    $PY - "$port" "$every_ms" "$RESULTS" <<'PY' &
import signal, sys, time, urllib.request
port, every, results = sys.argv[1], int(sys.argv[2]) / 1000.0, sys.argv[3]
times, failures, size = [], 0, 0
def done(*_):
    times.sort()
    with open(results, "a") as out:
        out.write("RESULT label=metrics-scrapes scrapes=%d failures=%d bytes=%d p50_ms=%.2f max_ms=%.2f\n" % (
            len(times), failures, size, 1000 * times[len(times) // 2] if times else 0, 1000 * times[-1] if times else 0))
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
while True:
    t = time.monotonic()
    try:
        body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=5).read()
        size = len(body)
        times.append(time.monotonic() - t)
    except Exception:
        failures += 1
    time.sleep(max(0.0, every - (time.monotonic() - t)))
PY
    scraper=$!
    for r in $(seq 1 "$rounds"); do
        load metrics metrics-off "${common[@]}" --target "$off_spec" --pid "$off_pid"
        load metrics metrics-on "${common[@]}" --target "$on_spec" --pid "$on_pid"
    done
    kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null
    stop "$off_pid" "$on_pid"
    if [ -x "$BUILD_DIR/tests/bench/metrics_cost" ]; then
        echo "RESULT label=metrics-cost $("$BUILD_DIR/tests/bench/metrics_cost" | sed -n 's/^RESULT //p')" | tee -a "$RESULTS"
    fi
}

metrics_summary() {
    $PY - "$RESULTS" <<'PY'
import re, statistics, sys
rows = []
for line in open(sys.argv[1]):
    if "RESULT" in line and ("transport=metrics" in line or "label=metrics-" in line):
        rows.append(dict(re.findall(r"(\w+)=(\S+)", line.split("RESULT", 1)[1])))
def col(label, key):
    return [float(r[key]) for r in rows if r.get("label") == label and key in r]
print("### Metrics (issue 18)")
print("| variant | rounds | msg/s | p50 ms | p99 ms | max ms | CPU ms/msg | errors |")
print("|---|---|---|---|---|---|---|---|")
cpu = {}
for label in ("metrics-off", "metrics-on"):
    if not col(label, "mps"):
        continue
    per_round = [1000 * c / m for c, m in zip(col(label, "cpu_s"), col(label, "messages"))]
    cpu[label] = per_round
    print("| %s | %d | %.0f | %.2f | %.2f | %.2f | %.3f | %d |" % (
        label, len(col(label, "mps")), statistics.median(col(label, "mps")), statistics.median(col(label, "p50_ms")),
        statistics.median(col(label, "p99_ms")), max(col(label, "max_ms")), statistics.median(per_round),
        sum(col(label, "errors"))))
if len(cpu) == 2:
    ratios = [on / off for on, off in zip(cpu["metrics-on"], cpu["metrics-off"])]
    print("CPU per message with the endpoint scraped, relative to without, per round: %s; median %+.1f%%" % (
        " ".join("%.3f" % r for r in ratios), 100 * (statistics.median(ratios) - 1)))
for r in rows:
    if r.get("label") == "metrics-scrapes":
        print("scrapes during the rounds: %s (%s failed), %s bytes each, p50 %s ms, slowest %s ms" % (
            r["scrapes"], r["failures"], r["bytes"], r["p50_ms"], r["max_ms"]))
    if r.get("label") == "metrics-cost":
        print("counting alone (tests/bench/metrics_cost): %s" % " ".join("%s=%s" % kv for kv in r.items() if kv[0] != "label"))
PY
}
