# A private Postfix instance on loopback for the end-to-end tests and
# scripts/demo (bash; source tests/e2e/lib/common.sh first).
#
# Everything lives under one directory: config_directory (main.cf, master.cf),
# queue_directory, data_directory, the log file and the delivered mail.  The
# system's Postfix (if any) is not touched: every command gets -c or
# MAIL_CONFIG.  Mail for every domain goes to the "fs" pipe transport, which
# writes each delivered message to $PF_DIR/mail/<queue id>.<recipient>, so a
# test can read the headers the milter added.
#
# Variables set by pf_setup: PF_DIR PF_CONF PF_PORT PF_MAILDIR PF_LOG
# PF_HOST (set before pf_setup; default 127.0.0.1): the loopback address smtpd
# listens on, e.g. 127.0.0.25 with port 25 for a configuration whose
# connectors bind port 25 (scripts/test-package).

# The milter_*_macros settings of conf/postfix-main.cf.snippet, as main.cf
# lines, so that the tests run the macro lists administrators are told to use.
pf_snippet_macro_lines() {
    local snippet
    snippet="$(e2e_top_srcdir)/conf/postfix-main.cf.snippet"
    [ -r "$snippet" ] || e2e_hard_error "missing $snippet"
    # A setting may continue on lines that start with white space.
    awk '
        /^[a-z_]+[ \t]*=/ { keep = ($1 ~ /^milter_.*_macros$/ || $1 == "milter_protocol") }
        /^[ \t]*#/ || /^[ \t]*$/ { next }
        keep { print }' "$snippet"
}

# pf_snippet_setting NAME: conf/postfix-main.cf.snippet's setting NAME
# (continuation lines included), as main.cf lines.
pf_snippet_setting() {
    awk -v name="$1" '
        /^[a-z_]+[ \t]*=/ { keep = ($1 == name) }
        /^[ \t]*#/ || /^[ \t]*$/ { next }
        keep { print }' "$(e2e_top_srcdir)/conf/postfix-main.cf.snippet"
}

# pf_setup DIR PORT MILTER_SPEC [MAIN_CF_LINE...]
#   MILTER_SPEC: what smtpd_milters gets, e.g. inet:127.0.0.1:8894 or
#   unix:/path/to/socket.  Extra arguments are appended to main.cf.
pf_setup() {
    PF_DIR=$1
    PF_PORT=$2
    local milter=$3
    shift 3
    PF_CONF=$PF_DIR/etc
    PF_MAILDIR=$PF_DIR/mail
    PF_LOG=$PF_DIR/maillog
    mkdir -p "$PF_CONF" "$PF_DIR/spool" "$PF_DIR/data" "$PF_MAILDIR"
    # The postfix user walks into the queue; the delivery script runs as nobody.
    chmod 755 "$PF_DIR" "$PF_CONF"
    chown postfix "$PF_DIR/data"
    chown nobody "$PF_MAILDIR"
    touch "$PF_LOG"

    cat >"$PF_DIR/deliver" <<'SH'
#!/bin/sh
# pipe(8) delivery: one file per message and recipient.
# argv: MAILDIR QUEUE_ID RECIPIENT
umask 022
tmp="$1/.$2.$$"
cat >"$tmp" && mv "$tmp" "$1/$2.$3"
SH
    chmod 755 "$PF_DIR/deliver"

    {
        cat <<CF
# Private Postfix instance of the connector-milter end-to-end tests.
compatibility_level = 3.6
queue_directory = $PF_DIR/spool
data_directory = $PF_DIR/data
maillog_file = $PF_LOG
maillog_file_prefixes = $PF_DIR
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mx.e2e.test
mydomain = e2e.test
myorigin = \$myhostname
mydestination = e2e.test, \$myhostname
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
smtpd_banner = \$myhostname ESMTP private test instance
biff = no
# The milter is what these tests exercise: Postfix's own relay check would
# answer first (554 5.7.1 Relay access denied), so every IPv4 client (XCLIENT
# plays them; the instance listens on loopback only) is in mynetworks.
# conf/postfix-main.cf.snippet tells administrators to keep their own
# relay restrictions as defence in depth.
mynetworks = 0.0.0.0/0
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
# XCLIENT lets one loopback client play any client address, SMTP AUTH login
# and local binding (Postfix 3.5 and later know DESTADDR and DESTPORT).
smtpd_authorized_xclient_hosts = 127.0.0.0/8
# Every domain is delivered to files.
default_transport = fs
local_transport = fs
relay_transport = fs
virtual_transport = fs
fs_destination_recipient_limit = 1
smtputf8_enable = no
smtpd_milters = $milter
milter_default_action = tempfail
milter_connect_timeout = 10s
milter_command_timeout = 20s
milter_content_timeout = 60s
# From conf/postfix-main.cf.snippet:
CF
        pf_snippet_macro_lines
        local line
        for line in "$@"; do
            printf '%s\n' "$line"
        done
    } >"$PF_CONF/main.cf"

    cat >"$PF_CONF/master.cf" <<CF
# service type  private unpriv  chroot  wakeup  maxproc command
${PF_HOST:-127.0.0.1}:$PF_PORT inet n - n - - smtpd
cleanup   unix  n       -       n       -       0       cleanup
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
postlog   unix-dgram n  -       n       -       1       postlogd
fs        unix  -       n       n       -       -       pipe
  user=nobody argv=$PF_DIR/deliver $PF_MAILDIR \${queue_id} \${recipient}
CF
}

# pf_enable_tls: STARTTLS with a throwaway self-signed certificate (after
# pf_setup, before pf_start), for connectors whose logins count only over TLS
# (BasicAuthRequireTLS).  Needs the openssl command.
pf_enable_tls() {
    command -v openssl >/dev/null || e2e_hard_error "openssl is not installed (run scripts/install-deps)"
    mkdir -p "$PF_DIR/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=mx.e2e.test" -keyout "$PF_DIR/tls/key.pem" -out "$PF_DIR/tls/cert.pem" \
        >/dev/null 2>&1 || e2e_hard_error "openssl could not make a test certificate"
    chmod 600 "$PF_DIR/tls/key.pem"
    cat >>"$PF_CONF/main.cf" <<CF
smtpd_tls_security_level = may
smtpd_tls_cert_file = $PF_DIR/tls/cert.pem
smtpd_tls_key_file = $PF_DIR/tls/key.pem
CF
}

pf_postfix() { postfix -c "$PF_CONF" "$@"; }

# Starts the instance and waits (bounded) for its SMTP port.
pf_start() {
    command -v postfix >/dev/null || e2e_hard_error "postfix is not installed (run scripts/install-deps)"
    if ! pf_postfix check >"$PF_DIR/check.out" 2>&1; then
        cat "$PF_DIR/check.out" >&2
        e2e_hard_error "postfix check failed for the private instance"
    fi
    if ! pf_postfix start >"$PF_DIR/start.out" 2>&1; then
        cat "$PF_DIR/start.out" "$PF_LOG" >&2
        e2e_hard_error "the private Postfix instance did not start"
    fi
    e2e_wait_port "${PF_HOST:-127.0.0.1}" "$PF_PORT" 20 || {
        cat "$PF_LOG" >&2
        e2e_hard_error "the private Postfix instance does not listen on ${PF_HOST:-127.0.0.1}:$PF_PORT"
    }
}

# Stops the instance: "postfix stop", then, bounded, its master by pid.
pf_stop() {
    [ -n "${PF_CONF:-}" ] && [ -f "$PF_CONF/main.cf" ] || return 0
    # Bounded: a stuck instance (e.g. postlogd blocked) never answers "stop".
    timeout 15 postfix -c "$PF_CONF" stop >/dev/null 2>&1 || true
    local pidfile=$PF_DIR/spool/pid/master.pid pid i=0
    [ -f "$pidfile" ] || return 0
    pid=$(tr -dc 0-9 <"$pidfile")
    [ -n "$pid" ] || return 0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# pf_swaks ARGS...: swaks against the instance; prints the transcript.
pf_swaks() {
    swaks --server "${PF_HOST:-127.0.0.1}" --port "$PF_PORT" --timeout 60 --helo client.e2e.test \
        --h-Subject "connector-milter e2e" "$@" 2>&1
}

# pf_delivered RECIPIENT SECONDS: path of the file delivered to RECIPIENT
# (waits, bounded); empty when nothing came.
pf_delivered() {
    if e2e_wait_file "$PF_MAILDIR/*.$1" "$2"; then
        compgen -G "$PF_MAILDIR/*.$1" | head -n 1
    fi
}

# Number of messages in the instance's queues (incoming/active/deferred/hold).
pf_queue_count() {
    find "$PF_DIR/spool/incoming" "$PF_DIR/spool/active" "$PF_DIR/spool/deferred" \
        "$PF_DIR/spool/hold" -type f 2>/dev/null | wc -l
}
