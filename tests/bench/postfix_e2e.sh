# The end-to-end figure of scripts/bench (sourced there; bash): Postfix's
# smtp-source -> a private Postfix on loopback -> smtp-sink, with no milter,
# with connector-milter, and with the OpenDKIM + OpenDMARC pair in
# smtpd_milters, alternating rounds; and with tests/bench/null_milter, which
# negotiates the same stages as connector-milter and does nothing, so that
# the cost of the milter protocol inside Postfix is told apart from the
# filter's own work; and with tests/bench/null_native, the same do-nothing
# on our native engine (issue 14 compares our cost with it).  Each round also records the CPU time the milter
# processes used.  Reuses the private-instance helpers of
# the end-to-end tests (tests/e2e/lib/postfix.sh).
#
# smtp-source writes its own unsigned messages, so this figure measures the
# milter protocol, connector policy, SPF and DMARC inside Postfix, not DKIM
# verification (the side-by-side load runs measure that).
#
# Run it in a subshell: its EXIT trap stops what it started.
# Uses from scripts/bench: W HERE DAEMON NULL_NATIVE STATIC_DNS RESULTS PIDS start stop
# spec_for write_ours_conf write_opendkim_conf write_opendmarc_conf.

postfix_e2e() {
    local rounds=${BENCH_E2E_ROUNDS:-3} messages=${BENCH_E2E_MESSAGES:-400}
    local sessions=${BENCH_E2E_SESSIONS:-16} size=${BENCH_E2E_SIZE:-10240}
    command -v smtp-source >/dev/null && command -v smtp-sink >/dev/null || {
        echo "end-to-end: smtp-source/smtp-sink missing (postfix package)" >&2; return 1; }
    # shellcheck source=/dev/null
    . "$HERE/tests/e2e/lib/common.sh"
    # shellcheck source=/dev/null
    . "$HERE/tests/e2e/lib/postfix.sh"
    local sink_port=2526 ours_spec pk_spec pm_spec null_spec nulln_spec
    # Globals, not locals: the EXIT trap runs after the function returned.
    E2E_PIDS=()
    trap 'pf_stop; stop "${E2E_PIDS[@]}"' EXIT
    ours_spec=$(spec_for inet 11); pk_spec=$(spec_for inet 12); pm_spec=$(spec_for inet 13)
    null_spec=$(spec_for inet 14); nulln_spec=$(spec_for inet 17)

    # Postfix's port 2525 is a binding of the Default Frontend here.
    write_ours_conf "$W/e2e-ours.conf" "$ours_spec" "$STATIC_DNS"
    # smtp-source plays the whole internet from 127.0.0.1: lift the
    # per-source connection limits (Exchange's defaults: 20 and 2 %), which
    # would otherwise answer some sessions 421 4.3.2.
    sed -i -e 's/^bindings = \["0.0.0.0:25"\]/bindings = ["0.0.0.0:25", "127.0.0.1:2525"]/' \
        -e 's/^max_message_size = .*/&\nmax_inbound_connection_per_source = "unlimited"\nmax_inbound_connection_percentage_per_source = "unlimited"/' \
        "$W/e2e-ours.conf"
    write_opendkim_conf "$W/e2e-opendkim.conf" "$pk_spec"
    write_opendmarc_conf "$W/e2e-opendmarc.conf" "$pm_spec"
    start e2e-ours "$ours_spec" "$DAEMON" -R -f -c "$W/e2e-ours.conf" -p "$ours_spec"; E2E_PIDS+=("$STARTED_PID")
    start e2e-opendkim "$pk_spec" opendkim -f -x "$W/e2e-opendkim.conf" -p "$pk_spec"; E2E_PIDS+=("$STARTED_PID")
    start e2e-opendmarc "$pm_spec" opendmarc -f -c "$W/e2e-opendmarc.conf" -p "$pm_spec"; E2E_PIDS+=("$STARTED_PID")
    local ours_pid=${E2E_PIDS[0]} pair_pids="${E2E_PIDS[1]} ${E2E_PIDS[2]}" null_pid
    start e2e-null "$null_spec" "$BUILD_DIR/tests/bench/null_milter" "$null_spec"; E2E_PIDS+=("$STARTED_PID")
    null_pid=$STARTED_PID
    # The do-nothing milter on the native engine, with our configuration.
    local nulln_pid
    sed "s|$ours_spec|$nulln_spec|" "$W/e2e-ours.conf" >"$W/e2e-null-native.conf"
    start e2e-null-native "$nulln_spec" "$NULL_NATIVE" -R -f -c "$W/e2e-null-native.conf" -p "$nulln_spec"
    E2E_PIDS+=("$STARTED_PID"); nulln_pid=$STARTED_PID
    smtp-sink -u nobody 127.0.0.1:$sink_port 256 >"$W/smtp-sink.log" 2>&1 &
    E2E_PIDS+=("$!")

    # Postfix's milter clients speak inet:HOST:PORT.
    local ours_pf pair_pf null_pf nulln_pf
    nulln_pf="inet:127.0.0.1:$(sed 's/^inet:\([0-9]*\)@.*/\1/' <<<"$nulln_spec")"
    null_pf="inet:127.0.0.1:$(sed 's/^inet:\([0-9]*\)@.*/\1/' <<<"$null_spec")"
    ours_pf="inet:127.0.0.1:$(sed 's/^inet:\([0-9]*\)@.*/\1/' <<<"$ours_spec")"
    pair_pf="inet:127.0.0.1:$(sed 's/^inet:\([0-9]*\)@.*/\1/' <<<"$pk_spec"), inet:127.0.0.1:$(sed 's/^inet:\([0-9]*\)@.*/\1/' <<<"$pm_spec")"
    pf_setup "$W/postfix" 2525 ""
    # Relay everything to smtp-sink instead of the tests' file delivery.
    postconf -c "$PF_CONF" -e "relayhost = [127.0.0.1]:$sink_port" "default_transport = smtp" \
        "relay_transport = smtp" "smtp_dns_support_level = disabled" "default_process_limit = 100" \
        "smtpd_client_connection_count_limit = 0" "smtpd_client_connection_rate_limit = 0" \
        "in_flow_delay = 0"
    echo "smtp      unix  -       -       n       -       -       smtp" >>"$PF_CONF/master.cf"
    pf_start || return 1

    local r variant milters pids t0 t1 t2 queued i cpu0 cpu1
    for r in $(seq 1 "$rounds"); do
        for variant in postfix-alone postfix+null postfix+null-native postfix+ours postfix+pair; do
            case $variant in
                postfix-alone) milters="" pids="" ;;
                postfix+null) milters=$null_pf pids=$null_pid ;;
                postfix+null-native) milters=$nulln_pf pids=$nulln_pid ;;
                postfix+ours) milters=$ours_pf pids=$ours_pid ;;
                postfix+pair) milters=$pair_pf pids=$pair_pids ;;
            esac
            postconf -c "$PF_CONF" -e "smtpd_milters = $milters"
            pf_postfix reload >/dev/null 2>&1
            sleep 1
            local sent0 sent1
            sent0=$(grep -c 'status=sent' "$PF_LOG" || true)
            cpu0=$(cpu_ticks $pids)
            t0=$(date +%s.%N)
            timeout 120 smtp-source -s "$sessions" -m "$messages" -l "$size" -f "bench@sender0.example" \
                -t "user@contoso.test" -M "mail.sender0.example" 127.0.0.1:2525 2>>"$W/smtp-source.err" || true
            t1=$(date +%s.%N)
            # Delivered to smtp-sink when the queue is empty again (bounded).
            for i in $(seq 1 600); do
                queued=$(pf_queue_count)
                [ "$queued" = 0 ] && break
                sleep 0.05
            done
            t2=$(date +%s.%N)
            cpu1=$(cpu_ticks $pids)
            sent1=$(grep -c 'status=sent' "$PF_LOG" || true)
            local rejected delivered=$((sent1 - sent0))
            rejected=$(grep -c 'milter-reject\|reject:' "$PF_LOG" || true)
            # Rates from what smtp-sink actually received (Postfix's
            # status=sent), so a session that failed cannot inflate them.
            echo "transport=e2e RESULT label=$variant round=$r messages=$messages delivered=$delivered" \
                 "sessions=$sessions size=$size accept_secs=$(echo "$t1 - $t0" | bc) total_secs=$(echo "$t2 - $t0" | bc)" \
                 "accept_mps=$(echo "scale=1; $delivered / ($t1 - $t0)" | bc)" \
                 "delivered_mps=$(echo "scale=1; $delivered / ($t2 - $t0)" | bc) left_in_queue=$queued" \
                 "rejects_in_log_so_far=$rejected milter_cpu_s=$(echo "scale=3; ($cpu1 - $cpu0) / $(getconf CLK_TCK)" | bc)" \
                 | tee -a "$RESULTS"
        done
    done
}

# The CPU clock ticks (user + system, all threads) used so far by PIDS.
cpu_ticks() {
    local total=0 pid f
    for pid in "$@"; do
        f=$(cut -d')' -f2- "/proc/$pid/stat" 2>/dev/null) || continue
        # After "pid (comm)": field 14 (utime) and 15 (stime) are words 12, 13.
        total=$((total + $(awk '{print $12 + $13}' <<<"$f")))
    done
    echo "$total"
}
