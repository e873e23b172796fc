# sendmail on loopback for the end-to-end tests (bash; source
# tests/e2e/lib/common.sh first).
#
# sendmail-bin conflicts with postfix as a Debian package, so the test runs the
# binaries that tests/e2e/fetch-sendmail unpacked (SM_ROOT) with a sendmail.cf
# made by m4 from sendmail.mc.in + conf/sendmail.mc.snippet.  It runs as
# "sendmail -bD" (daemon in the foreground) inside the network namespace of
# the test, where it may listen on port 25 and the milter on 8894 (the
# snippet's socket) without meeting anything else on the machine.  Mail is only
# queued (DeliveryMode=queue, no queue runner): the test reads the headers from
# the qf files, as sendmail stored them after the milter's edits.
#
# Variables: SM_ROOT (unpacked packages), set by sm_setup: SM_DIR SM_CF SM_QUEUE

# The cache that scripts/install-deps fills with tests/e2e/fetch-sendmail
# (outside the build tree, so that "make distcheck" finds no stray files).
SM_CACHE=/var/cache/connector-milter/e2e-sendmail

# Where fetch-sendmail put the packages: $SENDMAIL_ROOT, or the cache.
sm_find_root() {
    local candidate
    for candidate in "${SENDMAIL_ROOT:-}" "$SM_CACHE"; do
        [ -n "$candidate" ] || continue
        if [ -x "$candidate/root/usr/libexec/sendmail/sendmail" ]; then
            printf '%s\n' "$candidate/root"
            return 0
        fi
    done
    return 1
}

sm_libpath() {
    printf '%s\n' "$SM_ROOT/usr/lib/x86_64-linux-gnu:$SM_ROOT/lib/x86_64-linux-gnu"
}

sm_sendmail() {
    LD_LIBRARY_PATH=$(sm_libpath) "$SM_ROOT/usr/libexec/sendmail/sendmail" "$@"
}

# sm_setup DIR: sendmail.cf, queue, SASL user database under DIR.
sm_setup() {
    SM_DIR=$1
    SM_CF=$SM_DIR/sendmail.cf
    SM_QUEUE=$SM_DIR/mqueue
    local top cfdir
    top=$(e2e_top_srcdir)
    cfdir=$SM_ROOT/usr/share/sendmail/cf
    mkdir -p "$SM_QUEUE" "$SM_DIR/sasl"
    chmod 700 "$SM_QUEUE"
    # sendmail refuses files and directories that others may write to.
    chmod 755 "$SM_DIR"

    sed -e "s|@SM_DIR@|$SM_DIR|g" -e "s|@SNIPPET@|$top/conf/sendmail.mc.snippet|g" \
        "$top/tests/e2e/sendmail.mc.in" >"$SM_DIR/sendmail.mc"
    # m4 warns on stderr about promiscuous_relay; only errors count.
    if ! m4 -D_CF_DIR_="$cfdir/" "$cfdir/m4/cf.m4" "$SM_DIR/sendmail.mc" >"$SM_CF" 2>"$SM_DIR/m4.err" ||
        grep -qi 'error' "$SM_DIR/m4.err"; then
        cat "$SM_DIR/m4.err" >&2
        e2e_hard_error "m4 could not make sendmail.cf from $SM_DIR/sendmail.mc"
    fi
    printf 'hosts files\naliases files\n' >"$SM_DIR/service.switch"
    printf '127.0.0.1 localhost\n10.0.0.50 mx.e2e.test mx\n' >"$SM_DIR/hosts"
    : >"$SM_DIR/aliases"
    : >"$SM_DIR/statistics"
    chmod 600 "$SM_DIR/statistics"

    # SMTP AUTH (sendmail has no XCLIENT): Cyrus SASL with a sasldb of one
    # user.  sendmail looks for Sendmail.conf only in fixed directories
    # (/etc/sasl2, /etc/sasl, /usr/lib/sasl2, ...): sm_mount_sasl shows it
    # this directory there, inside the test's own mount namespace.
    cat >"$SM_DIR/sasl/Sendmail.conf" <<CONF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $SM_DIR/sasl/sasldb2
mech_list: PLAIN LOGIN
CONF
    printf '%s' "$SM_SASL_PASSWORD" |
        LD_LIBRARY_PATH=$(sm_libpath) "$SM_ROOT/usr/sbin/saslpasswd2" -p -c \
            -f "$SM_DIR/sasl/sasldb2" -u "${SM_SASL_USER#*@}" "${SM_SASL_USER%@*}" ||
        e2e_hard_error "saslpasswd2 could not create the SASL user"
    chmod 640 "$SM_DIR/sasl/sasldb2"
}

# sm_mount_sasl: bind-mounts $SM_DIR/sasl over the first of sendmail's SASL
# configuration directories that exists.  Only in a private mount namespace.
sm_mount_sasl() {
    local target
    for target in /etc/sasl2 /usr/lib/sasl2 /etc/sasl /usr/lib/x86_64-linux-gnu/sasl2/conf; do
        [ -d "$target" ] || continue
        mount --make-rprivate / && mount --bind "$SM_DIR/sasl" "$target" && return 0
    done
    return 1
}

# The login is an address: Cyrus SASL takes the part after @ as the realm.
SM_SASL_USER=carol@e2e.test
SM_SASL_PASSWORD=e2e-only-password

# Starts sendmail in the background (foreground daemon mode, -bD); sets SM_PID.
sm_start() {
    # Not through sm_sendmail: $! must be sendmail's own pid.
    LD_LIBRARY_PATH=$(sm_libpath) "$SM_ROOT/usr/libexec/sendmail/sendmail" \
        -bD -C "$SM_CF" -X "$SM_DIR/smtp.trace" >"$SM_DIR/sendmail.out" 2>&1 &
    SM_PID=$!
    if ! e2e_wait_port 10.0.0.50 25 20; then
        cat "$SM_DIR/sendmail.out" >&2
        e2e_hard_error "sendmail does not listen on port 25"
    fi
}

sm_stop() { e2e_stop_pid "${SM_PID:-}"; }

# sm_swaks SOURCE_IP LOCAL_ADDR ARGS...: a client connecting from SOURCE_IP
# to the MTA's binding LOCAL_ADDR:25.
sm_swaks() {
    local source=$1 server=$2
    shift 2
    swaks --server "$server" --port 25 --local-interface "$source" --timeout 60 \
        --helo client.e2e.test --h-Subject "connector-milter e2e" "$@" 2>&1
}

# sm_queued RECIPIENT SECONDS: the qf file of the message queued for
# RECIPIENT (waits, bounded); empty when there is none.
sm_queued() {
    local i=0 qf
    while [ "$i" -lt $(($2 * 10)) ]; do
        qf=$(grep -l -F "<$1>" "$SM_QUEUE"/qf* 2>/dev/null | head -n 1)
        if [ -n "$qf" ]; then
            printf '%s\n' "$qf"
            return 0
        fi
        sleep 0.1
        i=$((i + 1))
    done
}

# sm_headers QF: the message's header lines as stored in the qf file
# (without the "H" and "?flags?" prefixes), continuation lines included.
sm_headers() {
    awk '
        /^H/ { sub(/^H(\?[^?]*\?)?/, ""); print; inh = 1; next }
        inh && /^[ \t]/ { print; next }
        { inh = 0 }' "$1"
}

# sm_bs SENDER RECIPIENT [SWAKS ARGS...]: sendmail -bs against the test's
# sendmail.cf, a dialogue on its stdin and stdout (swaks waits for each
# reply: sendmail refuses a client that talks before the greeting).  No
# daemon needed: the message goes to the queue.
sm_bs() {
    local from=$1 to=$2
    shift 2
    swaks --pipe "env LD_LIBRARY_PATH=$(sm_libpath) $SM_ROOT/usr/libexec/sendmail/sendmail -C $SM_CF -bs" \
        --timeout 60 --helo localhost --from "$from" --to "$to" --h-Subject "connector-milter e2e" "$@" 2>&1
}

# sm_setup_msp: submit.cf in $SM_DIR for sendmail's own sendmail command,
# the MSP (FEATURE(msp)), which relays every message over SMTP to the MTA
# on [127.0.0.1]:25 (needs sm_setup, and sm_start for the relay).
sm_setup_msp() {
    local cfdir=$SM_ROOT/usr/share/sendmail/cf
    {
        printf "divert(0)dnl\nOSTYPE(\`linux')dnl\n"
        printf "define(\`confDOMAIN_NAME', \`mx.e2e.test')dnl\n"
        # An MSP must not run as root: nobody stands in for Debian's smmsp.
        printf "define(\`confRUN_AS_USER', \`nobody:nogroup')dnl\n"
        printf "define(\`MSP_QUEUE_DIR', \`%s/clientmqueue')dnl\n" "$SM_DIR"
        printf "define(\`STATUS_FILE', \`%s/submit.st')dnl\n" "$SM_DIR"
        printf "define(\`confSERVICE_SWITCH_FILE', \`%s/service.switch')dnl\n" "$SM_DIR"
        printf "define(\`confHOSTS_FILE', \`%s/hosts')dnl\n" "$SM_DIR"
        printf "define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl\n"
        printf "define(\`confTO_IDENT', \`0s')dnl\n"
        printf "FEATURE(\`msp', \`[127.0.0.1]')dnl\n"
    } >"$SM_DIR/submit.mc"
    mkdir -p "$SM_DIR/clientmqueue"
    : >"$SM_DIR/submit.st"
    chown nobody:nogroup "$SM_DIR/clientmqueue" "$SM_DIR/submit.st"
    chmod 770 "$SM_DIR/clientmqueue"
    m4 -D_CF_DIR_="$cfdir/" "$cfdir/m4/cf.m4" "$SM_DIR/submit.mc" >"$SM_DIR/submit.cf" 2>"$SM_DIR/submit-m4.err" ||
        e2e_hard_error "m4 could not make submit.cf: $(cat "$SM_DIR/submit-m4.err")"
}

# sm_msp SENDER RECIPIENT: the sendmail command through submit.cf, as cron
# or mail(1) runs it (the message on stdin).
sm_msp() {
    printf 'From: %s\nTo: %s\nSubject: connector-milter e2e MSP\n\ncron output\n' "$1" "$2" |
        sm_sendmail -C "$SM_DIR/submit.cf" -f "$1" "$2" 2>&1
}

sm_queue_count() { find "$SM_QUEUE" -name 'qf*' -type f | wc -l; }

# sm_enter_namespaces SCRIPT ARGS...: runs SCRIPT again (exec) inside new
# network, UTS, mount and PID namespaces, with SM_ROOT found (or unpacked by
# tests/e2e/fetch-sendmail); returns at once when already inside
# (E2E_IN_NAMESPACE).  Skips where namespaces cannot be created.
sm_enter_namespaces() {
    [ -z "${E2E_IN_NAMESPACE:-}" ] || return 0
    unshare --net --uts --mount --pid --fork --mount-proc true 2>/dev/null ||
        e2e_skip "no permission to create namespaces (unshare --net --uts --mount --pid)"
    if ! SM_ROOT=$(sm_find_root); then
        "$(e2e_top_srcdir)/tests/e2e/fetch-sendmail" "$SM_CACHE" >&2 ||
            e2e_hard_error "could not unpack Debian's sendmail into $SM_CACHE (tests/e2e/fetch-sendmail)"
        SM_ROOT=$SM_CACHE/root
    fi
    export SM_ROOT
    E2E_IN_NAMESPACE=1 exec unshare --net --uts --mount --pid --fork --mount-proc /bin/bash "$@"
}

# sm_namespace_network ADDRESS...: inside the namespaces, the host name "mx"
# and loopback up with the MTA's binding 10.0.0.50 and the client ADDRESSes.
sm_namespace_network() {
    local address
    hostname mx
    ip link set lo up || e2e_hard_error "cannot bring up lo in the test's network namespace"
    for address in 10.0.0.50 "$@"; do
        ip addr add "$address/32" dev lo || e2e_hard_error "cannot add $address to lo"
    done
}

# sm_private_syslog DIR: sendmail logs only to syslog: a reader records what
# it sends to /dev/log in DIR/syslog.txt (sets SM_SYSLOG and E2E_SYSLOG_PID).
# /dev becomes DIR/dev (lib/common.sh e2e_private_dev): only inside the
# test's own mount namespace, before sendmail starts.
sm_private_syslog() {
    SM_SYSLOG=$1/syslog.txt
    mount --make-rprivate / || e2e_hard_error "cannot make the test's mounts private"
    e2e_private_dev "$1/dev" || e2e_hard_error "cannot make a private /dev in $1/dev"
    e2e_start_syslog_reader "$1/dev/log" "$SM_SYSLOG"
    mount --rbind "$1/dev" /dev || e2e_hard_error "cannot bind $1/dev over /dev"
    SM_PRIVATE_DEV=$1/dev
}

# sm_private_syslog_release: the real /dev back and DIR/dev's nodes unbound
# (so that DIR can be removed); after sendmail and the reader stopped.
sm_private_syslog_release() {
    [ -n "${SM_PRIVATE_DEV:-}" ] || return 0
    umount -l /dev
    e2e_private_dev_release "$SM_PRIVATE_DEV"
    SM_PRIVATE_DEV=""
}

# sm_wait_log SECONDS PATTERN: true once sendmail logged a line matching the
# extended regular expression PATTERN (sendmail's children log a moment
# after they answered the client).
sm_wait_log() {
    local i=0
    while ! grep -Eq "$2" "$SM_SYSLOG" 2>/dev/null; do
        [ "$i" -ge $(($1 * 10)) ] && return 1
        sleep 0.1
        i=$((i + 1))
    done
}
