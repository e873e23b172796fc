# Shared helpers of the end-to-end tests and scripts/demo (bash).
# Exit codes follow automake's harness: 0 pass, 1 fail, 77 skip, 99 hard error.

E2E_FAILURES=0

e2e_log()  { printf '%s\n' "$*" >&2; }
e2e_skip() { e2e_log "SKIP: $*"; exit 77; }
e2e_hard_error() { e2e_log "ERROR: $*"; exit 99; }

# Where the sources are: the harness exports TOP_SRCDIR; by hand it is
# derived from this file's location.
e2e_top_srcdir() {
    if [ -n "${TOP_SRCDIR:-}" ]; then
        printf '%s\n' "$TOP_SRCDIR"
    else
        (cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
    fi
}

# The tests need root: Postfix's master and sendmail start as root, and
# sendmail runs in a network namespace of its own.
e2e_require_root() {
    [ "$(id -u)" -eq 0 ] || e2e_skip "end-to-end tests need root (Postfix and sendmail start as root)"
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
e2e_free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# e2e_wait_port HOST PORT SECONDS: until something accepts connections there.
e2e_wait_port() {
    python3 - "$1" "$2" "$3" <<'PY'
import socket, sys, time
host, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    try:
        socket.create_connection((host, port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
}

# e2e_wait_file PATTERN SECONDS: until a file matching the glob exists.
e2e_wait_file() {
    local pattern=$1 limit=$2 i=0
    while [ "$i" -lt $((limit * 10)) ]; do
        # shellcheck disable=SC2086
        compgen -G "$pattern" >/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# e2e_wait_socket PATH SECONDS
e2e_wait_socket() {
    local path=$1 limit=$2 i=0
    while [ "$i" -lt $((limit * 10)) ]; do
        [ -S "$path" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# Bounded stop of a process we started: TERM, then KILL after a grace time.
e2e_stop_pid() {
    local pid=$1 i=0
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Assertions: record a failure and go on, so that one run reports every
# broken scenario.  e2e_finish turns the record into the exit status.
e2e_pass() { e2e_log "PASS: $*"; }
e2e_fail() { e2e_log "FAIL: $*"; E2E_FAILURES=$((E2E_FAILURES + 1)); }
e2e_finish() {
    if [ "$E2E_FAILURES" -ne 0 ]; then
        e2e_log "$E2E_FAILURES scenario(s) failed"
        exit 1
    fi
    exit 0
}

# The milter daemon under test: the harness exports DAEMON.
e2e_daemon() {
    if [ -z "${DAEMON:-}" ]; then
        e2e_hard_error "DAEMON is not set (export DAEMON=/path/to/build/connector-milter)"
    fi
    [ -x "$DAEMON" ] || e2e_hard_error "DAEMON=$DAEMON is not an executable"
    printf '%s\n' "$DAEMON"
}

# e2e_start_daemon LOGFILE ARGS...: the milter in the foreground (-f), in the
# background of this shell; sets E2E_DAEMON_PID and E2E_DAEMON_LOG.
e2e_start_daemon() {
    local logfile=$1
    shift
    "$(e2e_daemon)" -f -R "$@" >"$logfile" 2>&1 &
    E2E_DAEMON_PID=$!
    E2E_DAEMON_LOG=$logfile
}


# e2e_engine_line: the [milter] engine line for the configs the tests write:
# empty (the daemon's default engine) unless $CONNECTOR_MILTER_ENGINE names
# one ("native", "libmilter"), to run the suites against either engine.
e2e_engine_line() {
    if [ -n "${CONNECTOR_MILTER_ENGINE:-}" ]; then
        printf 'engine = "%s"\n' "$CONNECTOR_MILTER_ENGINE"
    fi
}

# e2e_write_config OUT SOCKET [MILTER_LINE...]: tests/e2e/e2e.conf.in with
# the milter socket, extra [milter] lines and the static zone filled in;
# $E2E_EXTRA_CONFIG (TOML) is appended.
e2e_write_config() {
    local out=$1 socket=$2 top
    shift 2
    top=$(e2e_top_srcdir)
    local options
    options=$(e2e_engine_line)$'\n'
    local line
    for line in "$@"; do
        options+="$line"$'\n'
    done
    local text
    text=$(<"$top/tests/e2e/e2e.conf.in")
    text=${text//@SOCKET@/$socket}
    text=${text//@SOCKET_OPTIONS@/$options}
    text=${text//@ZONE@/$top/tests/e2e/e2e.zone}
    printf '%s\n%s' "$text" "${E2E_EXTRA_CONFIG:-}" >"$out"
}

# swaks transcripts: " -> " sent, "<-  " received, "<** " a 4xx/5xx
# received; after STARTTLS the same with "~": " ~> ", "<~  ", "<~* ".

# The first refusal (4xx or 5xx) in a transcript.
e2e_first_refusal() {
    awk '/^<(\*\*|~\*) / { sub(/^<(\*\*|~\*) +/, ""); print; exit }' "$1"
}

# Whether the transcript shows the message accepted at end of DATA.
e2e_accepted() {
    awk '/^ [-~]> \.$/ { dot = 1; next } dot && /^<[-~] +250 / { ok = 1 } dot && /^<[-~*]/ { dot = 0 }
         END { exit ok ? 0 : 1 }' "$1"
}

# The reply to the end of DATA ("250 2.0.0 Ok: queued as ..."), if any.
e2e_data_reply() {
    awk '/^ [-~]> \.$/ { dot = 1; next } dot && /^<[-~*]/ { sub(/^<[-~*]+ +/, ""); print; exit }' "$1"
}

# e2e_start_syslog_reader SOCKET OUT: a unix datagram socket at SOCKET (a
# private /dev/log) whose datagrams are appended to OUT, one line each, as
# received (<PRI> prefix included); sets E2E_SYSLOG_PID.
e2e_start_syslog_reader() {
    /usr/bin/python3 - "$1" "$2" <<'PY' &
import os, socket, sys
path, out = sys.argv[1:3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "ab", buffering=0) as f:
    while True:
        data = s.recv(65536)
        f.write(data.rstrip(b"\n").replace(b"\n", b" ") + b"\n")
PY
    E2E_SYSLOG_PID=$!
    e2e_wait_socket "$1" 10 || e2e_hard_error "the syslog reader did not create $1"
}

# e2e_private_dev DIR: DIR as a /dev holding only the usual device nodes
# (bound from the real /dev) and /dev/fd, for a mount namespace of the test's
# own to bind over /dev, with a syslog reader's socket as DIR/log.
e2e_private_dev() {
    local node
    mkdir -p "$1"
    for node in null zero full random urandom; do
        touch "$1/$node" && mount --bind "/dev/$node" "$1/$node" || return 1
    done
    ln -s /proc/self/fd "$1/fd"
}
# e2e_private_dev_release DIR: unbinds the nodes of e2e_private_dev.
e2e_private_dev_release() {
    local node
    for node in null zero full random urandom; do
        umount "$1/$node" 2>/dev/null
    done
    return 0
}

# ---- the stand-in milter (lib/milter_probe.py) ----
# It records the macros the MTA sends; the tests use it to check that the MTA
# configured from conf/*.snippet passes what connector-milter needs, which the
# real daemon cannot show (it asks for its macros itself, smfi_setsymlist).

# e2e_start_probe SOCKET LOGFILE: sets E2E_PROBE_PID.
e2e_start_probe() {
    /usr/bin/python3 "$(e2e_top_srcdir)/tests/e2e/lib/milter_probe.py" "$1" "$2" 2>>"$2.err" &
    E2E_PROBE_PID=$!
}

# e2e_probe_macro LOGFILE STAGE NAME: the last value of macro NAME that the
# MTA sent at STAGE (C connect, H helo, M mail, R rcpt, E end of message).
e2e_probe_macro() {
    /usr/bin/python3 - "$@" <<'PY'
import json, sys
log, stage, name = sys.argv[1:4]
value = None
with open(log, encoding="utf-8") as f:
    for line in f:
        entry = json.loads(line)
        if entry["stage"] == stage and name in entry["macros"]:
            value = entry["macros"][name]
if value is not None:
    print(value)
PY
}

# e2e_expect_macro CHECK_NAME LOGFILE STAGE NAME WANT ("?" = any non-empty value)
e2e_expect_macro() {
    local check=$1 log=$2 stage=$3 name=$4 want=$5 got
    got=$(e2e_probe_macro "$log" "$stage" "$name")
    if [ "$want" = "?" ] && [ -n "$got" ]; then return 0; fi
    if [ "$want" != "?" ] && [ "$got" = "$want" ]; then return 0; fi
    e2e_fail "$check: macro $name at stage $stage is \"$got\", want \"$want\""
    return 1
}

# e2e_probe_connect LOGFILE FIELD: the last connect event's FIELD as the MTA
# sent it (family: 4, 6, L or U; port; address; hostname).
e2e_probe_connect() {
    /usr/bin/python3 - "$@" <<'PY'
import json, sys
log, field = sys.argv[1:3]
value = None
with open(log, encoding="utf-8") as f:
    for line in f:
        entry = json.loads(line)
        if entry["stage"] == "connect":
            value = entry.get(field)
if value is not None:
    print(value)
PY
}
