# The metrics figure of scripts/bench (sourced there; bash; issue 18): the
# cost of the /metrics endpoint under load. Two daemons with the same
# configuration, without [metrics] and with [metrics] listen, in
# alternating rounds; while the second one is under load a scraper reads
# its /metrics every BENCH_METRICS_SCRAPE_MS (100 ms, a hundred times
# Prometheus's usual rate), so that a scrape that held sessions up would
# show in their latency. The counters themselves are always counted (a few
# relaxed atomic adds and clock reads per event): both daemons pay that,
# and tests/bench/metrics_cost measures it apart. 2000 messages a round:
# the daemon's CPU time is read in 10 ms clock ticks, so a round needs
# about a second of CPU for the tick to be 1 % of it (600 messages gave
# 0.33 s, a 3 % step).
#
# Uses from scripts/bench: W DAEMON LOAD RESULTS PY PER_CONNECTION BUILD_DIR
# start stop spec_for write_ours_conf load.

metrics_bench() {
    local rounds=${BENCH_METRICS_ROUNDS:-15} messages=${BENCH_METRICS_MESSAGES:-2000}
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

# The same question answered by instruction counts. CPU time per message
# swings by +-9 % from round to round on this shared machine (other
# builds and tests take the cores), which cannot resolve a 2 % target; the
# number of instructions the daemon executes for a given message set does
# not depend on what else runs. Each variant runs under valgrind's
# callgrind (every instruction of every thread, no cache simulation), is
# warmed up with a few messages, has its counters zeroed
# (callgrind_control -z), gets BENCH_METRICS_IR_MESSAGES messages in
# BENCH_METRICS_IR_SCRAPES chunks, and is dumped (callgrind_control -d):
# "off" without [metrics]; "on" with [metrics] listen and one scrape of
# /metrics after each chunk (one per 100 messages by default, more often
# than the wall-clock rounds' scraper and far more than Prometheus's 15 s
# at any real mail rate), so its count includes the scrapes. Then the "on"
# daemon, idle, is zeroed, scraped 10 times and dumped: the instructions
# one scrape costs. Last, tests/bench/metrics_cost --messages N under
# callgrind for two N: the instructions that counting itself costs a
# message (paid with or without the endpoint). The static zone answers DNS
# (no DNS server timing in the counts); 4 connections.
metrics_instructions() {
    if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
        echo "metrics: valgrind (callgrind_control) is not installed: no instruction counts" >&2
        return 0
    fi
    local rounds=${BENCH_METRICS_IR_ROUNDS:-3} messages=${BENCH_METRICS_IR_MESSAGES:-400}
    local scrapes=${BENCH_METRICS_IR_SCRAPES:-4} port=19889 r variant spec pid dump milter_port
    spec=$(spec_for inet 32)
    milter_port=${spec#inet:}; milter_port=${milter_port%@*}
    write_ours_conf "$W/metrics-ir-off.conf" "$spec" "$STATIC_DNS"
    cp "$W/metrics-ir-off.conf" "$W/metrics-ir-on.conf"
    printf '\n[metrics]\nlisten = "127.0.0.1:%s"\n' "$port" >>"$W/metrics-ir-on.conf"
    local scrape=(timeout 120 "$PY" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=60).read()"
                  "http://127.0.0.1:$port/metrics")
    # The instructions in the newest dump of PID: callgrind's "totals:" line.
    # shellcheck disable=SC2012  # our own file names: cg-VARIANT-ROUND.PID.N
    ir_of() { local f; f=$(ls -t "$W/cg-$1".*.[0-9]* 2>/dev/null | head -1); sed -n 's/^totals: *//p' "$f"; }
    echo "== metrics: instruction counts (callgrind), $rounds rounds of $messages messages per variant"
    for r in $(seq 1 "$rounds"); do
        for variant in off on; do
            valgrind --tool=callgrind --callgrind-out-file="$W/cg-$variant-$r.%p" "$DAEMON" -R -f \
                -c "$W/metrics-ir-$variant.conf" -p "$spec" >"$W/metrics-ir-$variant-$r.log" 2>&1 &
            pid=$!
            PIDS+=("$pid")
            for _ in $(seq 1 600); do
                (exec 3<>"/dev/tcp/127.0.0.1/$milter_port") 2>/dev/null && break
                sleep 0.1
            done
            "$LOAD" --corpus "$W/corpus" --target "$spec" --messages 40 --connections 4 --time-limit 300 >/dev/null 2>&1 || true
            [ "$variant" = on ] && "${scrape[@]}"
            callgrind_control -z "$pid" >/dev/null
            local errors=0 out
            for _ in $(seq 1 "$scrapes"); do
                out=$("$LOAD" --corpus "$W/corpus" --target "$spec" --messages $((messages / scrapes)) \
                      --connections 4 --per-connection "$PER_CONNECTION" --time-limit 300 2>>"$W/load.err" || true)
                errors=$((errors + $(echo "$out" | sed -n 's/.* errors=\([0-9]*\).*/\1/p' | head -1) + 0))
                [ "$variant" = on ] && "${scrape[@]}"
            done
            callgrind_control -d "$pid" >/dev/null
            dump=$(ir_of "$variant-$r")
            echo "RESULT label=metrics-ir-$variant round=$r messages=$messages scrapes=$([ "$variant" = on ] && echo "$scrapes" || echo 0) errors=$errors instructions=$dump" | tee -a "$RESULTS"
            if [ "$variant" = on ] && [ "$r" = 1 ]; then
                callgrind_control -z "$pid" >/dev/null
                for _ in $(seq 1 10); do "${scrape[@]}"; done
                callgrind_control -d "$pid" >/dev/null
                echo "RESULT label=metrics-ir-scrape scrapes=10 instructions=$(ir_of "$variant-$r")" | tee -a "$RESULTS"
            fi
            kill "$pid"; wait "$pid" 2>/dev/null || true
        done
    done
    if [ -x "$BUILD_DIR/tests/bench/metrics_cost" ]; then
        local n
        for n in 2000 12000; do
            valgrind --tool=callgrind --callgrind-out-file="$W/cg-cost-$n.out" \
                "$BUILD_DIR/tests/bench/metrics_cost" --messages "$n" >/dev/null 2>&1
        done
        echo "RESULT label=metrics-ir-counting messages=10000 instructions=$(( $(sed -n 's/^totals: *//p' "$W/cg-cost-12000.out") - $(sed -n 's/^totals: *//p' "$W/cg-cost-2000.out") ))" | tee -a "$RESULTS"
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
ir = {v: [int(r["instructions"]) / int(r["messages"]) for r in rows if r.get("label") == "metrics-ir-" + v]
      for v in ("off", "on")}
if ir["off"] and ir["on"]:
    print("instructions per message (callgrind, every thread of the daemon), per round: off %s; on (scraped) %s" % (
        " ".join("%.0f" % x for x in ir["off"]), " ".join("%.0f" % x for x in ir["on"])))
    off, on = statistics.median(ir["off"]), statistics.median(ir["on"])
    print("median off %.0f, on %.0f: on/off %+.2f%%; spread of the rounds: off %.2f%%, on %.2f%%" % (
        off, on, 100 * (on / off - 1), 100 * (max(ir["off"]) - min(ir["off"])) / off,
        100 * (max(ir["on"]) - min(ir["on"])) / on))
    for r in rows:
        if r.get("label") == "metrics-ir-on" and r.get("round") == "1":
            print("scrapes in each 'on' round: %s over %s messages" % (r["scrapes"], r["messages"]))
for r in rows:
    if r.get("label") == "metrics-ir-scrape":
        per = int(r["instructions"]) / int(r["scrapes"])
        print("one scrape of the idle daemon: %.0f instructions%s" % (
            per, " (%.2f messages' worth)" % (per / statistics.median(ir["off"])) if ir["off"] else ""))
    if r.get("label") == "metrics-ir-counting":
        per = int(r["instructions"]) / int(r["messages"])
        print("counting one message (metrics_cost under callgrind): %.0f instructions%s" % (
            per, " (%.2f%% of a message)" % (100 * per / statistics.median(ir["off"])) if ir["off"] else ""))
PY
}
