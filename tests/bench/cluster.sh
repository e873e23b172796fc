# The shared-limits figure of scripts/bench (sourced there; bash; issue 16):
# what counting connections and message rates in Redis costs, against the
# daemon's own counters. Two daemons (two MX hosts) with the same
# configuration take the sessions of one load generator between them
# (milter_load --split 1: half the workers on each); the connector has
# per-source connection limits and a message_rate_limit, high enough that
# nothing is refused, so every session and every message is checked.
# Variants, in alternating rounds, each at 2, 16 and 64 concurrent
# sessions (2: one per daemon, the round trip alone, without queueing
# behind other sessions on the benchmark's cores):
#   local        no [cluster]: counters in each daemon (two separate farms
#                of one host, as before issue 16)
#   redis        [cluster] redis, every setting at its default
#                (lease_renewal 10s)
#   redis-renew  the same with lease_renewal = BENCH_CLUSTER_RENEWAL
#                (250ms): what renewing leases adds when it runs often
# The redis-server is the benchmark's own, on a loopback port of the
# namespace, with its own data folder and nothing saved; it ends with the
# figure (and the namespace). Beside the load generator's figures, each run
# records the commands Redis served (INFO commandstats deltas: the
# round trips, i.e. the daemons' EVALSHA and handshake commands, and
# every command including those the scripts ran) and the CPU the
# redis-server process used (/proc/PID/stat).
#
# Uses from scripts/bench: W DAEMON LOAD RESULTS PY PER_CONNECTION STATIC_DNS
# start stop spec_for write_ours_conf.

CLUSTER_REDIS_PORT=16379

# The connector's limits for every variant: per source, in total, and a
# message rate per client address, none of which the benchmark reaches.
cluster_conf() {  # FILE SPEC [CLUSTER_LINES]
    write_ours_conf "$1" "$2" "$STATIC_DNS"
    sed -i '/^tarpit_interval = 0$/a max_inbound_connection_per_source = 1000\nmax_inbound_connection_percentage_per_source = 100\nmax_inbound_connection = 10000\nmessage_rate_limit = 1000000\nmessage_rate_source = "IPAddress"' "$1"
    [ -z "${3:-}" ] || printf '\n[cluster]\n%s\n' "$3" >>"$1"
}

# Prints "ROUND_TRIPS COMMANDS": the calls Redis counted since it started,
# without our own INFO. Commands a script runs (redis.call) count in
# commandstats as well; the ones listed here are those the daemon only
# ever sends from its scripts, so the rest are what clients sent.
cluster_redis_counts() {
    redis-cli -p "$CLUSTER_REDIS_PORT" info commandstats | tr -d '\r' | awk -F'[_:=,]' '
        /^cmdstat_/ {
            name = $2; calls = $4
            if (name == "info" || name == "command") next
            all += calls
            if (name !~ /^(zadd|zrem|zremrangebyscore|zcard|pexpire|time)$/) trips += calls
        }
        END { printf "%d %d\n", trips, all }'
}

cluster_cpu_ticks() {  # PID: utime + stime, in clock ticks
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# One load run over both daemons of a variant, recorded with Redis's figures.
cluster_load() {  # LABEL SESSIONS MESSAGES PID_A PID_B SPEC_A SPEC_B
    local label=$1 sessions=$2 messages=$3 out c0 c1 t0 t1
    c0=$(cluster_redis_counts); t0=$(cluster_cpu_ticks "$CLUSTER_REDIS_PID")
    out=$("$LOAD" --corpus "$W/corpus" --label "$label" --time-limit 60 --split 1 \
          --messages "$messages" --connections "$sessions" --per-connection "$PER_CONNECTION" \
          --target "$6" --target "$7" --pid "$4" --pid "$5" 2>>"$W/load.err" || true)
    c1=$(cluster_redis_counts); t1=$(cluster_cpu_ticks "$CLUSTER_REDIS_PID")
    out="$out concurrent=$sessions redis_round_trips=$(( ${c1% *} - ${c0% *} ))"
    out="$out redis_commands=$(( ${c1#* } - ${c0#* } ))"
    out="$out redis_cpu_s=$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", d / hz }')"
    echo "$out"
    echo "transport=cluster $out" >>"$RESULTS"
}

cluster_bench() {
    local rounds=${BENCH_CLUSTER_ROUNDS:-7} messages=${BENCH_CLUSTER_MESSAGES:-2560}
    local concurrency=${BENCH_CLUSTER_SESSIONS:-2 16 64} renewal=${BENCH_CLUSTER_RENEWAL:-250ms}
    local variants=${BENCH_CLUSTER_VARIANTS:-local redis redis-renew}
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        echo "cluster figure: redis-server and redis-cli are needed (apt-get install redis-server)" >&2
        return 1
    fi
    mkdir -p "$W/redis"
    start redis-server "inet:$CLUSTER_REDIS_PORT@127.0.0.1" redis-server --port "$CLUSTER_REDIS_PORT" \
        --bind 127.0.0.1 --dir "$W/redis" --save "" --appendonly no --daemonize no || return 1
    CLUSTER_REDIS_PID=$STARTED_PID
    local redis_url="redis = \"redis://127.0.0.1:$CLUSTER_REDIS_PORT/0\""
    local v n=40 pids=() spec_a spec_b lines
    declare -A A_PID B_PID A_SPEC B_SPEC
    for v in $variants; do
        case $v in
            local) lines="" ;;
            redis) lines="$redis_url"$'\n'"key_prefix = \"bench-$v:\"" ;;
            redis-renew) lines="$redis_url"$'\n'"key_prefix = \"bench-$v:\""$'\n'"lease_renewal = \"$renewal\"" ;;
            *) echo "cluster figure: unknown variant $v" >&2; return 1 ;;
        esac
        spec_a=$(spec_for inet $n); spec_b=$(spec_for inet $((n + 1))); n=$((n + 2))
        cluster_conf "$W/cluster-$v-a.conf" "$spec_a" "$lines"
        cluster_conf "$W/cluster-$v-b.conf" "$spec_b" "$lines"
        start "cluster-$v-a" "$spec_a" "$DAEMON" -R -f -c "$W/cluster-$v-a.conf" -p "$spec_a" || return 1
        A_PID[$v]=$STARTED_PID; A_SPEC[$v]=$spec_a
        start "cluster-$v-b" "$spec_b" "$DAEMON" -R -f -c "$W/cluster-$v-b.conf" -p "$spec_b" || return 1
        B_PID[$v]=$STARTED_PID; B_SPEC[$v]=$spec_b
        pids+=("${A_PID[$v]}" "${B_PID[$v]}")
        "$LOAD" --corpus "$W/corpus" --split 1 --target "$spec_a" --target "$spec_b" --messages 256 \
            --connections 16 >/dev/null 2>&1 || true
    done
    echo "== cluster: $rounds alternating rounds of $messages messages ($PER_CONNECTION per session)" \
         "at $concurrency concurrent sessions on two daemons; variants: $variants;" \
         "load average $(cut -d' ' -f1-3 /proc/loadavg)"
    local c load_before
    load_before=$(cut -d' ' -f1 /proc/loadavg)
    for _ in $(seq 1 "$rounds"); do
        for c in $concurrency; do
            for v in $variants; do
                cluster_load "$v-$c" "$c" "$messages" "${A_PID[$v]}" "${B_PID[$v]}" "${A_SPEC[$v]}" "${B_SPEC[$v]}"
            done
        done
    done
    echo "RESULT label=cluster-loadavg before=$load_before after=$(cut -d' ' -f1 /proc/loadavg)" >>"$RESULTS"
    # Nothing of a variant may have been refused or failed: say so in the
    # summary (refused/errors columns) rather than hiding it.
    stop "${pids[@]}"
    redis-cli -p "$CLUSTER_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    stop "$CLUSTER_REDIS_PID"
}

cluster_summary() {
    $PY - "$RESULTS" "$PER_CONNECTION" <<'PY'
import re, statistics, sys
rows = []
for line in open(sys.argv[1]):
    if "RESULT" in line and ("transport=cluster" in line or "label=cluster-" in line):
        rows.append(dict(re.findall(r"(\w+)=(\S+)", line.split("RESULT", 1)[1])))
def runs(label):
    return [r for r in rows if r.get("label") == label]
def med(values):
    return statistics.median(values) if values else float("nan")
concurrency = sorted({int(r["concurrent"]) for r in rows if "concurrent" in r})
variants = [v for v in ("local", "redis", "redis-renew") if any(r.get("label", "").startswith(v + "-") for r in rows)]
print("### Redis shared limits (issue 16): medians of %d alternating rounds, two daemons" % max(
    (len(runs("%s-%d" % (variants[0], c))) for c in concurrency), default=0))
print("| sessions | variant | msg/s | p50 ms | p99 ms | +p50 ms | +p99 ms | open p50 ms | open p99 ms "
      "| daemons CPU ms/session | daemons CPU ms/msg | load gen CPU ms/msg | Redis round trips/msg "
      "| Redis commands/msg | Redis CPU ms/msg | refused | errors |")
print("|" + "---|" * 17)
for c in concurrency:
    base = runs("local-%d" % c)
    for v in variants:
        rs = runs("%s-%d" % (v, c))
        if not rs:
            continue
        per_msg = lambda key, scale=1.0: med([scale * float(r[key]) / float(r["messages"]) for r in rs
                                              if float(r["messages"]) > 0])
        # Added latency: the median of each round's difference to the local
        # run of the same round (the rounds alternate, so each pair saw the
        # same machine load).
        def added(key):
            if v == "local" or len(base) != len(rs):
                return "-"
            return "%+.2f" % med([float(a[key]) - float(b[key]) for a, b in zip(rs, base)])
        cpu_per_session = med([1000 * float(r["cpu_s"]) / float(r["sessions"]) for r in rs if float(r["sessions"]) > 0])
        print("| %d | %s | %.0f | %.2f | %.2f | %s | %s | %.2f | %.2f | %.2f | %.3f | %.3f | %.2f | %.2f | %.3f | %d | %d |" % (
            c, v, med([float(r["mps"]) for r in rs]), med([float(r["p50_ms"]) for r in rs]),
            med([float(r["p99_ms"]) for r in rs]), added("p50_ms"), added("p99_ms"),
            med([float(r["connect_p50_ms"]) for r in rs]), med([float(r["connect_p99_ms"]) for r in rs]),
            cpu_per_session, per_msg("cpu_s", 1000), per_msg("gen_cpu_s", 1000),
            per_msg("redis_round_trips"), per_msg("redis_commands"), per_msg("redis_cpu_s", 1000),
            sum(int(r["refused"]) for r in rs), sum(int(r["errors"]) for r in rs)))
for c in concurrency:
    base = runs("local-%d" % c)
    for v in variants[1:]:
        rs = runs("%s-%d" % (v, c))
        if len(rs) != len(base) or not rs:
            continue
        cpu = lambda r: 1000 * float(r["cpu_s"]) / float(r["messages"])
        diffs = [cpu(a) - cpu(b) for a, b in zip(rs, base)]
        rel = [cpu(a) / cpu(b) - 1 for a, b in zip(rs, base) if cpu(b) > 0]
        print("%d sessions, %s against local: daemons' CPU per message %+.3f ms (%+.0f%%), per round: %s" % (
            c, v, med(diffs), 100 * med(rel), " ".join("%+.3f" % d for d in diffs)))
for r in rows:
    if r.get("label") == "cluster-loadavg":
        print("load average (1 min) of the machine before and after the rounds: %s, %s (2 cores)" % (
            r["before"], r["after"]))
print("Redis round trips: what the daemons sent (EVALSHA, and AUTH/SELECT/EVAL when (re)connecting); commands: "
      "those plus what the scripts ran. Sessions of %s messages; added latency: median of the per-round "
      "differences with local." % sys.argv[2])
PY
}
