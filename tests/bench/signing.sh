# shellcheck shell=bash
# The DKIM signing figure of scripts/bench (sourced there; bash; issue 15):
# connector-milter and OpenDKIM in signing mode, side by side, with the same
# private key and the same corpus, in alternating rounds at 16 connections.
#   Ours: the relay connector of internal devices (every client may relay,
#   so every session is signed; checks = [], no verification, like
#   OpenDKIM's Mode s), a KeyTable and a refile: SigningTable that sign every
#   From: with one key (d=contoso.test).
#   OpenDKIM: Mode s, the same KeyTable and SigningTable, InternalHosts
#   0.0.0.0/0 (every client internal, so every message is signed).
#   Both tables are OpenDKIM's files, read as they are by both daemons; both
#   use relaxed/relaxed and their default header lists.
# A benchmark where one side does not sign says nothing, so after the timed
# rounds each signer is put in front of a verifier (OpenDKIM, Mode v, whose
# TestPublicKeys hold only the signing key, so that the corpus's own
# signatures cannot pass) for one more run: its dkim=pass count must equal
# the messages sent, and it is printed.
# Knobs: BENCH_SIGN_ROUNDS (5), BENCH_SIGN_MESSAGES (600),
# BENCH_SIGN_KEYS ("rsa ed25519"), BENCH_CONNECTIONS (16).
#
# Uses from scripts/bench: W DAEMON LOAD RESULTS PY PER_CONNECTION
# start stop spec_for load.

# sign_keys KIND: the private key (PKCS#1 for RSA as opendkim-genkey writes,
# PKCS#8 for ed25519), the tables and the verifier's TestPublicKeys line.
sign_keys() {
    local kind=$1 d=$W/sign-$1
    mkdir -p "$d"
    chmod 700 "$d"
    case $kind in
        rsa) openssl genrsa -traditional -out "$d/key.private" 2048 2>/dev/null || return 1
             printf 'sign%s._domainkey.contoso.test v=DKIM1; k=rsa; p=%s\n' "$kind" \
                 "$(openssl pkey -in "$d/key.private" -pubout -outform DER 2>/dev/null | base64 -w0)" >"$d/testkeys" ;;
        ed25519) openssl genpkey -algorithm ed25519 -out "$d/key.private" 2>/dev/null || return 1
             # RFC 8463 section 4.2: the raw 32-byte public key.
             printf 'sign%s._domainkey.contoso.test v=DKIM1; k=ed25519; p=%s\n' "$kind" \
                 "$(openssl pkey -in "$d/key.private" -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0)" >"$d/testkeys" ;;
        *) echo "signing: unknown key kind $kind" >&2; return 1 ;;
    esac
    chmod 600 "$d/key.private"
    printf 'bench contoso.test:sign%s:%s\n' "$kind" "$d/key.private" >"$d/KeyTable"
    printf '* bench\n' >"$d/SigningTable"
}

write_sign_ours_conf() {  # FILE SOCKET KIND
    cat >"$1" <<EOF
[milter]
socket = "$2"
authserv_id = "mx.contoso.test"

[dns]
offline = true

[dkim_signing]
key_table = "$W/sign-$3/KeyTable"
signing_table = "refile:$W/sign-$3/SigningTable"

[[connector]]
name = "Internal Relay"
bindings = ["0.0.0.0:25"]
remote_ip_ranges = ["0.0.0.0-255.255.255.255"]
permission_groups = ["AnonymousUsers"]
checks = []
tarpit_interval = 0
dkim_sign = true
[connector.grant]
AnonymousUsers = ["Ms-Exch-SMTP-Accept-Any-Recipient"]
EOF
}

write_sign_opendkim_conf() {  # FILE SOCKET KIND
    echo 0.0.0.0/0 >"$W/sign-internal-hosts"
    cat >"$1" <<EOF
Mode s
Socket $2
KeyTable $W/sign-$3/KeyTable
SigningTable refile:$W/sign-$3/SigningTable
InternalHosts $W/sign-internal-hosts
Canonicalization relaxed/relaxed
# The work folder is under /tmp, which others may write: OpenDKIM's path
# check would refuse the key (ours checks the file itself, 0600).
RequireSafeKeys false
Syslog no
Background no
UMask 007
EOF
    # OpenDKIM takes the algorithm from its configuration, not the key.
    [ "$3" != ed25519 ] || echo "SignatureAlgorithm ed25519-sha256" >>"$1"
}

signing_bench() {
    local rounds=${BENCH_SIGN_ROUNDS:-5} messages=${BENCH_SIGN_MESSAGES:-600} conns=${BENCH_CONNECTIONS:-16}
    local kind v n=50 failed=0
    for kind in ${BENCH_SIGN_KEYS:-rsa ed25519}; do
        sign_keys "$kind" || return 1
        local -A spec=([ours]=$(spec_for unix "$n") [opendkim]=$(spec_for unix $((n + 1)))) pid=()
        local verifier
        verifier=$(spec_for unix $((n + 2)))
        n=$((n + 3))
        write_sign_ours_conf "$W/sign-ours-$kind.conf" "${spec[ours]}" "$kind"
        write_sign_opendkim_conf "$W/sign-opendkim-$kind.conf" "${spec[opendkim]}" "$kind"
        cat >"$W/sign-verifier-$kind.conf" <<EOF
Mode v
Socket $verifier
TestPublicKeys $W/sign-$kind/testkeys
AuthservID verifier.contoso.test
Syslog no
Background no
UMask 007
On-NoSignature accept
EOF
        start "sign-ours-$kind" "${spec[ours]}" "$DAEMON" -R -f -c "$W/sign-ours-$kind.conf" -p "${spec[ours]}" || return 1
        pid[ours]=$STARTED_PID
        start "sign-opendkim-$kind" "${spec[opendkim]}" opendkim -f -x "$W/sign-opendkim-$kind.conf" \
            -p "${spec[opendkim]}" || return 1
        pid[opendkim]=$STARTED_PID
        start "sign-verifier-$kind" "$verifier" opendkim -f -x "$W/sign-verifier-$kind.conf" -p "$verifier" || return 1
        local vpid=$STARTED_PID
        for v in ours opendkim; do
            "$LOAD" --corpus "$W/corpus" --target "${spec[$v]}" --messages 64 --connections 4 >/dev/null 2>&1 || true
        done
        echo "== signing ($kind): $rounds alternating rounds of $messages messages, $conns connections, unix sockets"
        for _ in $(seq 1 "$rounds"); do
            for v in ours opendkim; do
                load sign "sign-$kind-$v" --messages "$messages" --connections "$conns" \
                    --per-connection "$PER_CONNECTION" --target "${spec[$v]}" --pid "${pid[$v]}"
            done
        done
        # The check: every message signed, with the key the verifier knows.
        for v in ours opendkim; do
            local out passed
            out=$("$LOAD" --corpus "$W/corpus" --label "sign-check-$kind-$v" --time-limit 60 --messages "$messages" \
                --connections 4 --per-connection "$PER_CONNECTION" --target "${spec[$v]}" --target "$verifier" \
                2>>"$W/load.err" || true)
            passed=$(sed -n 's/.* dkim_pass=\([0-9]*\).*/\1/p' <<<"$out")
            echo "RESULT label=sign-check-$kind-$v messages=$messages verified_signatures=${passed:-0}" | tee -a "$RESULTS"
            [ "${passed:-0}" = "$messages" ] || { echo "signing: $v ($kind) signed ${passed:-0} of $messages" >&2; failed=1; }
        done
        stop "${pid[ours]}" "${pid[opendkim]}" "$vpid"
        # Our own count, from the daemon's log: one stage=SIGN line per
        # signature, warm-up and check included.
        echo "RESULT label=sign-log-$kind-ours signed_lines=$(grep -c 'stage=SIGN .*signed d=contoso.test' \
            "$W/sign-ours-$kind.log") expected=$((64 + rounds * messages + messages))" | tee -a "$RESULTS"
    done
    return $failed
}

signing_summary() {
    $PY - "$RESULTS" <<'PY'
import re, statistics, sys
rows = [dict(re.findall(r"(\w+)=(\S+)", line.split("RESULT", 1)[1]))
        for line in open(sys.argv[1]) if "RESULT" in line and "label=sign-" in line]
print("### DKIM signing, connector-milter and OpenDKIM (Mode s), 16 connections (issue 15)")
print("| key | signer | rounds | msg/s | p50 ms | p99 ms | milter CPU ms/msg | load generator CPU ms/msg | refused+errors |")
print("|---|---|---|---|---|---|---|---|---|")
keys = []
for r in rows:
    m = re.match(r"sign-(\w+)-(ours|opendkim)$", r["label"])
    if m and m.group(1) not in keys:
        keys.append(m.group(1))
ratios = []
for k in keys:
    med = {}
    for v in ("ours", "opendkim"):
        rs = [r for r in rows if r["label"] == "sign-%s-%s" % (k, v) and "mps" in r]
        if not rs:
            continue
        m = lambda f: statistics.median(f(r) for r in rs)
        med[v] = dict(mps=m(lambda r: float(r["mps"])), p50=m(lambda r: float(r["p50_ms"])),
                      p99=m(lambda r: float(r["p99_ms"])),
                      cpu=m(lambda r: 1000 * float(r["cpu_s"]) / float(r["messages"])),
                      gen=m(lambda r: 1000 * float(r.get("gen_cpu_s", "nan")) / float(r["messages"])))
        print("| %s | %s | %d | %.0f | %.2f | %.2f | %.3f | %.3f | %d |" % (
            k, "connector-milter" if v == "ours" else "OpenDKIM", len(rs), med[v]["mps"], med[v]["p50"], med[v]["p99"],
            med[v]["cpu"], med[v]["gen"], sum(int(float(r.get("errors", 0))) + int(float(r.get("refused", 0))) for r in rs)))
    if len(med) == 2:
        ratios.append("%s: throughput ours/OpenDKIM %.2fx (target at least 2x: %s), CPU per message %.2fx, p99 %.2fx" % (
            k, med["ours"]["mps"] / med["opendkim"]["mps"], "met" if med["ours"]["mps"] >= 2 * med["opendkim"]["mps"]
            else "NOT met", med["ours"]["cpu"] / med["opendkim"]["cpu"], med["ours"]["p99"] / med["opendkim"]["p99"]))
print()
for line in ratios:
    print(line)
for r in rows:
    if r["label"].startswith("sign-check-"):
        print("%s: %s of %s messages carried a signature the verifier accepted" % (
            r["label"], r["verified_signatures"], r["messages"]))
    elif r["label"].startswith("sign-log-"):
        print("%s: %s stage=SIGN lines, %s messages sent to it" % (r["label"], r["signed_lines"], r["expected"]))
PY
}
