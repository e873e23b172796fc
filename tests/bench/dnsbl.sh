# The DNS block list figure of scripts/bench (sourced there; bash; issue 19):
# our daemon with a real resolver (libunbound forwarding to the benchmark's
# DNS server, tests/bench/zone_dns.py), without and with two block list
# providers on its connector, in alternating rounds once every cache is warm;
# then a provider that never answers, to show that the wait it causes stays
# within [dns] timeout and the per-message time budget.
#
# The providers' zones carry an SOA, so that the server's NXDOMAIN answers
# (no corpus client is listed) are cached like a real list's (RFC 2308): with
# a warm cache the lookups started at connect are answered from it, and the
# claim is that they then add no measurable latency. The figure also counts
# the block list questions the DNS server saw during the warm rounds.
#
# Uses from scripts/bench: W DAEMON LOAD RESULTS CORPUS_SIZE PER_CONNECTION
# DNS_PID start stop spec_for write_ours_conf load.

dnsbl_bench() {
    local rounds=${BENCH_DNSBL_ROUNDS:-7} messages=${BENCH_DNSBL_MESSAGES:-600}
    local off_spec on_spec slow_spec off_pid on_pid slow_pid r before after
    local providers='
[[block_list_provider]]
name = "Bench One"
lookup_domain = "bl1.bench.example"

[[block_list_provider]]
name = "Bench Two"
lookup_domain = "bl2.bench.example"
bitmask_match = "127.0.0.6"
'
    off_spec=$(spec_for inet 20); on_spec=$(spec_for inet 21); slow_spec=$(spec_for inet 22)
    write_ours_conf "$W/dnsbl-off.conf" "$off_spec" 'nameservers = ["127.0.0.1"]'
    write_ours_conf "$W/dnsbl-on.conf" "$on_spec" 'nameservers = ["127.0.0.1"]'
    # Filtering on the Default Frontend (its keys end at tarpit_interval);
    # the providers after [dns] (TOML: any order of tables).
    sed -i 's/^tarpit_interval = 0$/&\nconnection_filtering = true/' "$W/dnsbl-on.conf"
    printf '%s' "$providers" >>"$W/dnsbl-on.conf"
    # A list that never answers: [dns] timeout 1s, message budget 2s.
    write_ours_conf "$W/dnsbl-slow.conf" "$slow_spec" 'nameservers = ["127.0.0.1"]
timeout = "1s"
message_time_budget = "2s"'
    sed -i 's/^tarpit_interval = 0$/&\nconnection_filtering = true/' "$W/dnsbl-slow.conf"
    printf '\n[[block_list_provider]]\nname = "Silent"\nlookup_domain = "slow.bench.example"\n' >>"$W/dnsbl-slow.conf"
    start dnsbl-off "$off_spec" "$DAEMON" -R -f -c "$W/dnsbl-off.conf" -p "$off_spec" || return 1
    off_pid=$STARTED_PID
    start dnsbl-on "$on_spec" "$DAEMON" -R -f -c "$W/dnsbl-on.conf" -p "$on_spec" || return 1
    on_pid=$STARTED_PID

    local common=(--messages "$messages" --connections 16 --per-connection "$PER_CONNECTION")
    # Warm-up: every corpus message once on a connection of its own, so
    # that every client is looked up (a connection plays the client of its
    # first message) and every sender's records are cached.
    for spec in "$off_spec" "$on_spec"; do
        "$LOAD" --corpus "$W/corpus" --target "$spec" --messages "$CORPUS_SIZE" --connections 4 \
            --per-connection 1 >/dev/null 2>&1 || true
    done
    if ! grep -q 'lookups started' "$W/dnsbl-on.log"; then
        echo "dnsbl: the daemon with providers started no lookup (see $W/dnsbl-on.log)" >&2
    fi
    echo "== DNS block lists: $rounds alternating rounds with warm caches, $messages messages each"
    before=$(wc -l <"$W/dns-queries.log")
    for r in $(seq 1 "$rounds"); do
        load dnsbl dnsbl-off "${common[@]}" --target "$off_spec" --pid "$off_pid"
        load dnsbl dnsbl-on "${common[@]}" --target "$on_spec" --pid "$on_pid"
    done
    kill -USR1 "$DNS_PID"; sleep 0.3
    after=$(wc -l <"$W/dns-queries.log")
    echo "RESULT label=dnsbl-warm-queries block_list_questions=$(tail -n $((after - before)) "$W/dns-queries.log" |
        grep -c '\.bl[12]\.bench\.example ') all_questions=$((after - before))" | tee -a "$RESULTS"
    stop "$off_pid" "$on_pid"

    # Cold and silent: each connection's first RCPT waits for the list
    # until [dns] timeout, counted from connect.
    start dnsbl-slow "$slow_spec" "$DAEMON" -R -f -c "$W/dnsbl-slow.conf" -p "$slow_spec" || return 1
    slow_pid=$STARTED_PID
    echo "== DNS block lists: a provider that never answers ([dns] timeout 1s, message_time_budget 2s)"
    load dnsbl dnsbl-silent --messages 80 --connections 8 --per-connection 10 --target "$slow_spec" --pid "$slow_pid"
    stop "$slow_pid"
}

dnsbl_summary() {
    $PY - "$RESULTS" <<'PY'
import re, statistics, sys
rows = []
for line in open(sys.argv[1]):
    if "RESULT" not in line or "transport=dnsbl" not in line and "dnsbl-warm" not in line:
        continue
    rows.append(dict(re.findall(r"(\w+)=(\S+)", line.split("RESULT", 1)[1])))
def col(label, key):
    return [float(r[key]) for r in rows if r.get("label") == label and key in r]
print("### DNS block lists (issue 19)")
print("| variant | rounds | msg/s | p50 ms | p99 ms | max ms | CPU ms/msg | errors | refused |")
print("|---|---|---|---|---|---|---|---|---|")
for label in ("dnsbl-off", "dnsbl-on", "dnsbl-silent"):
    if not col(label, "mps"):
        continue
    msgs = statistics.median(col(label, "messages"))
    print("| %s | %d | %.0f | %.2f | %.2f | %.2f | %.3f | %d | %d |" % (
        label, len(col(label, "mps")), statistics.median(col(label, "mps")), statistics.median(col(label, "p50_ms")),
        statistics.median(col(label, "p99_ms")), max(col(label, "max_ms")),
        1000 * statistics.median(col(label, "cpu_s")) / msgs, sum(col(label, "errors")), sum(col(label, "refused"))))
on, off = col("dnsbl-on", "p50_ms"), col("dnsbl-off", "p50_ms")
if on and off:
    diffs = [a - b for a, b in zip(on, off)]
    print("p50 with providers minus without, per round (ms): %s; median %.3f; spread of the rounds without: %.3f" % (
        " ".join("%.3f" % d for d in diffs), statistics.median(diffs), max(off) - min(off)))
for r in rows:
    if r.get("label") == "dnsbl-warm-queries":
        print("block list questions the DNS server saw during the warm rounds: %s (all questions: %s)" % (
            r["block_list_questions"], r["all_questions"]))
silent = col("dnsbl-silent", "max_ms")
if silent:
    print("silent provider: slowest message %.0f ms; [dns] timeout 1000 ms, message_time_budget 2000 ms" % max(silent))
PY
}
