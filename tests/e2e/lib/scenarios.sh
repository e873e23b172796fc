# The seed scenarios of issue 5, shared by postfix.test and sendmail.test
# (bash; source common.sh first).  The expected replies are Exchange's, as
# quoted in issue 2; the expected SPF verdicts follow from tests/e2e/e2e.zone
# and RFC 7208.
#
# A test defines these hooks before calling e2e_run_scenarios:
#   mta_send CLIENT_IP LOGIN FROM TO [LOCAL_ADDR] -> SMTP transcript (swaks)
#       on stdout; the client connects to the MTA's binding LOCAL_ADDR:25
#       (default 10.0.0.50, the other one is 10.0.0.51) from CLIENT_IP,
#       authenticated as LOGIN unless it is empty
#   mta_headers RECIPIENT SECONDS    -> the header lines of the message the MTA
#       accepted for RECIPIENT (waits, bounded), nothing if there is none
#   mta_stop_milter                  -> stops the milter daemon
#   mta_name                         -> "postfix" or "sendmail" (for messages)
#   mta_reply CODE XCODE ADDRESS TEXT -> the reply line a client of this MTA
#       sees when the milter refuses ADDRESS with CODE XCODE TEXT (sendmail
#       puts "<ADDRESS>... " before the text of every address error)
# The variable E2E_WORK names a directory for transcripts.  mta_send passes
# the words of the array E2E_SEND_EXTRA on to swaks (extra headers).

readonly E2E_RELAY_DENIED_TEXT="SMTP; Unable to relay recipient in non-accepted domain"
readonly E2E_ANON_SENDER_DENIED_TEXT="Anonymous client does not have permissions to send as this sender"
readonly E2E_INTERNET_CLIENT=192.0.2.7
readonly E2E_DEVICE=10.0.0.80
readonly E2E_NOT_DEVICE=10.0.0.81
readonly E2E_USER_CLIENT=198.51.100.9
# Listed by the Default Frontend's block list (e2e.zone, issue 19).
readonly E2E_LISTED_CLIENT=192.0.2.99
readonly E2E_BLOCK_LISTED_TEXT="Recipient not authorized, your IP has been found on a block list"
# The SMTP AUTH login is an address: Exchange lets a user send as the address
# it logged in with (Send-As), not as any address of an accepted domain.
readonly E2E_USER_LOGIN=carol@e2e.test
E2E_SEND_EXTRA=()

# e2e_transcript NAME CLIENT LOGIN FROM TO: runs one SMTP session, keeps its
# transcript in $E2E_WORK/NAME.smtp and prints that path.
e2e_transcript() {
    local name=$1
    shift
    local file
    file="$E2E_WORK/$(mta_name).$name.smtp"
    mta_send "$@" >"$file"
    printf '%s\n' "$file"
}

e2e_show_transcript() {
    e2e_log "--- $1"
    grep -E '^(<[-~*]| [-~]>)' "$1" | grep -v -E '^<[-~] +250-|^ [-~]> [A-Z][-A-Za-z]*: |^ [-~]> $|^ [-~]> This is a test' | sed 's/^/    /' >&2
}

scenario_anonymous_delivery_to_accepted_domain_is_accepted() {
    local name=AnonymousDeliveryToAcceptedDomainIsAccepted t
    t=$(e2e_transcript "$name" "$E2E_INTERNET_CLIENT" "" alice@sender.example anon-in@e2e.test)
    if ! e2e_accepted "$t"; then
        e2e_show_transcript "$t"
        e2e_fail "$name: the message was not accepted"
        return
    fi
    if [ -z "$(mta_headers anon-in@e2e.test 20)" ]; then
        e2e_fail "$name: accepted but never reached the $(mta_name) queue/delivery"
        return
    fi
    e2e_pass "$name"
}

# RFC 8601 section 5: the header is prepended, above the trace headers the
# MTA added; spf=pass because sender.example lists 192.0.2.7 (RFC 7208 5.6).
scenario_authentication_results_header_is_first_with_spf_pass() {
    local name=AuthenticationResultsHeaderIsFirstWithSpfPass headers first
    headers=$(mta_headers anon-in@e2e.test 5)
    if [ -z "$headers" ]; then
        e2e_fail "$name: no accepted message to inspect (see the delivery scenario)"
        return
    fi
    first=$(printf '%s\n' "$headers" | awk 'NR == 1 { h = $0; next } /^[ \t]/ { h = h " " $0; next } { exit } END { print h }')
    if ! printf '%s\n' "$first" | grep -q -i '^Authentication-Results: *mx\.e2e\.test *;'; then
        e2e_log "headers:"; printf '%s\n' "$headers" | sed 's/^/    /' >&2
        e2e_fail "$name: the first header is not Authentication-Results by mx.e2e.test"
        return
    fi
    if ! printf '%s\n' "$first" | grep -q -E 'spf=pass[^;]*smtp\.mailfrom="?([^;@ ]*@)?sender\.example'; then
        e2e_log "first header: $first"
        e2e_fail "$name: no spf=pass smtp.mailfrom=...sender.example"
        return
    fi
    local count
    count=$(printf '%s\n' "$headers" | grep -c -i '^Authentication-Results: *mx\.e2e\.test')
    if [ "$count" -ne 1 ]; then
        e2e_fail "$name: $count Authentication-Results headers of mx.e2e.test, want 1"
        return
    fi
    e2e_pass "$name"
}

# e2e_expect_refusal NAME TRANSCRIPT WANT RECIPIENT
e2e_expect_refusal() {
    local name=$1 t=$2 want=$3 rcpt=$4 got
    got=$(e2e_first_refusal "$t")
    if [ "$got" != "$want" ]; then
        e2e_show_transcript "$t"
        e2e_fail "$name: the client saw \"$got\", want \"$want\""
        return 1
    fi
    if e2e_accepted "$t" || [ -n "$(mta_headers "$rcpt" 1)" ]; then
        e2e_fail "$name: refused, yet a message for $rcpt was accepted"
        return 1
    fi
    return 0
}

scenario_anonymous_relay_is_refused_with_5_7_54() {
    local name=AnonymousRelayToNonAcceptedDomainIsRefusedWith5_7_54 t
    t=$(e2e_transcript "$name" "$E2E_INTERNET_CLIENT" "" alice@sender.example anon-relay@outlook.com)
    e2e_expect_refusal "$name" "$t" "$(mta_reply 550 5.7.54 anon-relay@outlook.com "$E2E_RELAY_DENIED_TEXT")" \
        anon-relay@outlook.com && e2e_pass "$name"
}

scenario_relay_connector_ip_may_relay() {
    local name=DeviceOnAnonymousRelayConnectorMayRelay t
    t=$(e2e_transcript "$name" "$E2E_DEVICE" "" printer@e2e.test device-relay@outlook.com)
    if ! e2e_accepted "$t"; then
        e2e_show_transcript "$t"
        e2e_fail "$name: the device $E2E_DEVICE could not relay"
        return
    fi
    if [ -z "$(mta_headers device-relay@outlook.com 20)" ]; then
        e2e_fail "$name: accepted but never reached the $(mta_name) queue/delivery"
        return
    fi
    e2e_pass "$name"
}

# Issue 11, items 3 and 4: the scanner sends as our own domain, whose public
# SPF record (tests/e2e/e2e.zone: -all, DMARC p=reject) does not list it.
# Its connector runs no checks (checks = [] in e2e.conf.in), so neither SPF
# (550 5.7.23) nor DMARC refuses it, and the header says what is true: the
# "none" form of RFC 8601 section 2.2 with a comment naming the connector,
# not auth=pass (RFC 8601 section 2.7.4: only for SMTP AUTH). Debian's
# python3-authres, a parser written apart from ours, must accept it as the
# MTA delivered it.
scenario_scanner_sends_as_our_domain_unchecked_and_the_header_says_so() {
    local name=ScannerOnRelayConnectorSendsAsOurDomainUncheckedAndTheHeaderSaysSo t headers field flat
    t=$(e2e_transcript "$name" "$E2E_DEVICE" "" scanner@e2e.test scanner-out@outlook.com)
    if ! e2e_accepted "$t"; then
        e2e_show_transcript "$t"
        e2e_fail "$name: the scanner $E2E_DEVICE could not send as scanner@e2e.test"
        return
    fi
    headers=$(mta_headers scanner-out@outlook.com 20)
    field=$(printf '%s\n' "$headers" | awk '
        on && /^[ \t]/ { print; next }
        on { exit }
        tolower($0) ~ /^authentication-results: *mx\.e2e\.test/ { on = 1; print }')
    flat=$(printf '%s' "$field" | tr -d '\r\n')
    case $flat in
        *'(spf, dkim, dmarc not checked on connector "Anonymous Relay"); none') ;;
        *)
            e2e_log "headers:"; printf '%s\n' "$headers" | sed 's/^/    /' >&2
            e2e_fail "$name: want our header to end in (spf, dkim, dmarc not checked on connector \"Anonymous Relay\"); none"
            return
            ;;
    esac
    local oracle
    if ! oracle=$(printf '%s' "$field" | /usr/bin/python3 -c \
        'import sys, authres; authres.AuthenticationResultsHeader.parse(sys.stdin.read())' 2>&1); then
        e2e_log "header: $field"
        e2e_fail "$name: python3-authres (scripts/install-deps) does not parse our header: $oracle"
        return
    fi
    e2e_pass "$name"
}

scenario_other_ip_on_relay_binding_cannot_relay() {
    local name=NeighbourOfTheDeviceCannotRelay t
    # An outside sender, so that only the relay right is at stake.
    t=$(e2e_transcript "$name" "$E2E_NOT_DEVICE" "" alice@sender.example neighbour-relay@outlook.com)
    e2e_expect_refusal "$name" "$t" "$(mta_reply 550 5.7.54 neighbour-relay@outlook.com "$E2E_RELAY_DENIED_TEXT")" \
        neighbour-relay@outlook.com && e2e_pass "$name"
}

# Exchange matches the binding too: the device's connector is bound to
# 10.0.0.50:25, so the device arriving on another local address of the MTA
# gets the Default Frontend and no relay right.
scenario_device_on_other_binding_cannot_relay() {
    local name=DeviceOnAnotherLocalAddressCannotRelay t
    t=$(e2e_transcript "$name" "$E2E_DEVICE" "" alice@sender.example other-binding@outlook.com 10.0.0.51)
    e2e_expect_refusal "$name" "$t" "$(mta_reply 550 5.7.54 other-binding@outlook.com "$E2E_RELAY_DENIED_TEXT")" \
        other-binding@outlook.com && e2e_pass "$name"
}

scenario_authenticated_user_may_relay() {
    local name=AuthenticatedUserMayRelay t
    t=$(e2e_transcript "$name" "$E2E_USER_CLIENT" "$E2E_USER_LOGIN" "$E2E_USER_LOGIN" auth-relay@outlook.com)
    if ! e2e_accepted "$t"; then
        e2e_show_transcript "$t"
        e2e_fail "$name: the authenticated user could not relay"
        return
    fi
    if [ -z "$(mta_headers auth-relay@outlook.com 20)" ]; then
        e2e_fail "$name: accepted but never reached the $(mta_name) queue/delivery"
        return
    fi
    e2e_pass "$name"
}

scenario_anonymous_sender_spoofing_is_refused() {
    local name=AnonymousClientCannotSendAsAcceptedDomain t
    t=$(e2e_transcript "$name" "$E2E_INTERNET_CLIENT" "" ceo@e2e.test spoofed@e2e.test)
    e2e_expect_refusal "$name" "$t" "$(mta_reply 550 5.7.1 ceo@e2e.test "$E2E_ANON_SENDER_DENIED_TEXT")" \
        spoofed@e2e.test && e2e_pass "$name"
}

# expect_anonymous_sender_refusal WHAT TRANSCRIPT: the first refusal in the
# transcript is the anonymous sender refusal (sendmail puts "<address>... "
# before the text), else a failure naming WHAT.
expect_anonymous_sender_refusal() {
    local got
    got=$(e2e_first_refusal "$2")
    case $got in
        "550 5.7.1 "*"$E2E_ANON_SENDER_DENIED_TEXT") ;;
        *)
            e2e_show_transcript "$2"
            e2e_fail "$1: the client saw \"${got:-no refusal}\", want 550 5.7.1 ... $E2E_ANON_SENDER_DENIED_TEXT"
            ;;
    esac
}

# Issue 12: the MTA rewrites <ceo>, <ceo%e2e.test> and <e2e.test!ceo> to
# ceo@e2e.test (allow_percent_hack, swap_bangpath, myorigin; sendmail's
# rulesets and $j), so they are refused like <ceo@e2e.test>; so is a From:
# header that names such an address.  Nothing reaches the recipient.  The
# From: check refuses at the end of headers, which the MTA was asked to read
# no reply for (SMFIP_NR_EOH, issue 14): the milter gives the refusal at the
# end of message, and logs that it did, which on the native engine shows the
# MTA agreed (libmilter offers the filter the flag whatever the MTA knows).
scenario_routed_and_unqualified_sender_spoofing_is_refused() {
    local name=RoutedAndUnqualifiedSenderSpoofingIsRefused t sender n=0 before=$E2E_FAILURES
    # The From: header is a foreign one here, so that only the envelope can
    # be refused (the MTA may rewrite a From: copied from the envelope).
    for sender in ceo 'ceo%e2e.test' 'e2e.test!ceo'; do
        n=$((n + 1))
        E2E_SEND_EXTRA=(--h-From "Alice <alice@sender.example>")
        t=$(e2e_transcript "$name-$n" "$E2E_INTERNET_CLIENT" "" "$sender" "spoof-routed-$n@e2e.test")
        E2E_SEND_EXTRA=()
        expect_anonymous_sender_refusal "$name: MAIL FROM:<$sender>" "$t"
    done
    local held_before=0 held_after
    [ -n "${E2E_DAEMON_LOG:-}" ] && held_before=$(grep -c "giving the refusal reached at EOH" "$E2E_DAEMON_LOG")
    for sender in 'ceo%e2e.test' 'CEO <ceo>'; do
        n=$((n + 1))
        E2E_SEND_EXTRA=(--h-From "$sender")
        t=$(e2e_transcript "$name-$n" "$E2E_INTERNET_CLIENT" "" alice@sender.example "spoof-routed-$n@e2e.test")
        E2E_SEND_EXTRA=()
        expect_anonymous_sender_refusal "$name: From: $sender" "$t"
    done
    if [ -z "${E2E_DAEMON_LOG:-}" ]; then
        e2e_fail "$name: no milter log to read (E2E_DAEMON_LOG)"
    else
        held_after=$(grep -c "giving the refusal reached at EOH" "$E2E_DAEMON_LOG")
        if [ "$((held_after - held_before))" -ne 2 ]; then
            e2e_fail "$name: $((held_after - held_before)) of 2 From: refusals given at the end of message" \
                "(the MTA did not agree to read no reply at the end of headers?)"
        fi
    fi
    local i
    for i in $(seq 1 "$n"); do
        if [ -n "$(mta_headers "spoof-routed-$i@e2e.test" 1)" ]; then
            e2e_fail "$name: a message for spoof-routed-$i@e2e.test was delivered"
        fi
    done
    [ "$E2E_FAILURES" -eq "$before" ] && e2e_pass "$name"
}

# Issue 12: a name that is ours only through UTS #46 mapping (ideographic or
# fullwidth full stop, fullwidth letters, a soft hyphen) is routed by the MTA
# as written, to a foreign next hop: for an anonymous client it is a relay
# recipient (550 5.7.54).  The test instances refuse the 8-bit address
# themselves (Postfix with smtputf8_enable = no: 501 5.1.3), so here the
# MTA's own 5xx counts too, and the property checked is that nothing is
# delivered; tests/protocol/relay_tricks_test shows the milter's verdict.
scenario_lookalike_of_accepted_domain_is_a_relay_recipient() {
    local name=LookAlikeOfAcceptedDomainIsARelayRecipient t got rcpt before=$E2E_FAILURES n=0
    for rcpt in $'idn@e2e\xe3\x80\x82test' $'idn@e2e\xef\xbc\x8etest' $'idn@\xef\xbd\x85\xef\xbc\x92\xef\xbd\x85.test' \
        $'idn@e2\xc2\xade.test'; do
        n=$((n + 1))
        t=$(e2e_transcript "$name-$n" "$E2E_INTERNET_CLIENT" "" alice@sender.example "$rcpt")
        got=$(e2e_first_refusal "$t")
        case $got in
            5[0-9][0-9]\ *) ;;
            *)
                e2e_show_transcript "$t"
                e2e_fail "$name: RCPT TO:<$rcpt>: the client saw \"${got:-no refusal}\", want 550 5.7.54 (or the MTA's own 5xx)"
                continue
                ;;
        esac
        if e2e_accepted "$t" || [ -n "$(mta_headers "$rcpt" 1)" ]; then
            e2e_fail "$name: a message for $rcpt was accepted"
        fi
    done
    [ "$E2E_FAILURES" -eq "$before" ] && e2e_pass "$name"
}

# RFC 7208 section 8.4: a "fail" may be refused; RFC 7372 section 3.2 gives
# it the enhanced code 5.7.23 (issue 3: 550 5.7.23 with the explanation).
# forged.example publishes "v=spf1 -all" (tests/e2e/e2e.zone).
scenario_spf_fail_is_refused_with_5_7_23() {
    local name=SpfFailIsRefusedWith5_7_23 t got
    t=$(e2e_transcript "$name" "$E2E_INTERNET_CLIENT" "" someone@forged.example spf-fail@e2e.test)
    got=$(e2e_first_refusal "$t")
    case $got in
        "550 5.7.23 "*) ;;
        *)
            e2e_show_transcript "$t"
            e2e_fail "$name: the client saw \"${got:-no refusal}\", want 550 5.7.23 ..."
            return
            ;;
    esac
    if e2e_accepted "$t" || [ -n "$(mta_headers spf-fail@e2e.test 1)" ]; then
        e2e_fail "$name: refused, yet a message for spf-fail@e2e.test was accepted"
        return
    fi
    e2e_pass "$name"
}

# RFC 8601 section 5 through the real MTA (issue 12): forged headers whose
# authserv-id hides behind bytes a strict parser refuses but lenient readers
# skip (form feed, vertical tab, spaces inside, a comment, a no-break space,
# a control byte, an encoded-word) are removed; another host's header stays.
scenario_disguised_forged_authentication_results_are_removed() {
    local name=DisguisedForgedAuthenticationResultsAreRemoved t headers kept
    local forged=(
        $'\x0cmx.e2e.test; dkim=pass header.d=bank.example'
        $'\x0bmx.e2e.test; dkim=pass header.d=bank.example'
        'mx . e2e . test; spf=pass smtp.mailfrom=bank.example'
        'mx(x).e2e.test; dkim=pass header.d=bank.example'
        $'\xc2\xa0mx.e2e.test; dkim=pass header.d=bank.example'
        $'\x01mx.e2e.test; dmarc=pass header.from=bank.example'
        '=?utf-8?q?mx.e2e.test?=; dkim=pass header.d=bank.example'
    )
    E2E_SEND_EXTRA=()
    local v
    for v in "${forged[@]}"; do E2E_SEND_EXTRA+=(--add-header "Authentication-Results: $v"); done
    E2E_SEND_EXTRA+=(--add-header "Authentication-Results: other.example.net; spf=pass smtp.mailfrom=x.example")
    t=$(e2e_transcript "$name" "$E2E_INTERNET_CLIENT" "" alice@sender.example disguised@e2e.test)
    E2E_SEND_EXTRA=()
    headers=$(mta_headers disguised@e2e.test 20)
    if [ -z "$headers" ]; then
        e2e_show_transcript "$t"
        e2e_fail "$name: the message was not delivered"
        return
    fi
    # Header fields as single lines (folds joined), Authentication-Results only.
    kept=$(printf '%s\n' "$headers" | awk '/^[ \t]/ { h = h " " $0; next } { if (h != "") print h; h = $0 } END { print h }' |
        grep -i -a '^Authentication-Results:')
    if [ "$(printf '%s\n' "$kept" | grep -c -a .)" -ne 2 ] ||
        ! printf '%s\n' "$kept" | head -n 1 | grep -q -a -i '^Authentication-Results: *mx\.e2e\.test;' ||
        ! printf '%s\n' "$kept" | grep -q -a 'other\.example\.net; spf=pass'; then
        e2e_log "Authentication-Results delivered:"; printf '%s\n' "$kept" | cat -v | sed 's/^/    /' >&2
        e2e_fail "$name: want exactly ours on top and other.example.net's"
        return
    fi
    e2e_pass "$name"
}

# Run last: it stops the milter.  milter_default_action = tempfail (Postfix)
# and F=T (sendmail) must turn a missing milter into a 4xx, never into mail
# accepted unchecked.
scenario_milter_down_means_tempfail() {
    local name=MilterDownMeansTemporaryFailureAndNothingAccepted t got
    mta_stop_milter
    t=$(e2e_transcript "$name" "$E2E_INTERNET_CLIENT" "" alice@sender.example while-down@e2e.test)
    got=$(e2e_first_refusal "$t")
    case $got in
        4[0-9][0-9][\ -]*) ;;
        *)
            e2e_show_transcript "$t"
            e2e_fail "$name: the client saw \"${got:-no refusal}\", want a 4xx"
            return
            ;;
    esac
    if e2e_accepted "$t" || [ -n "$(mta_headers while-down@e2e.test 2)" ]; then
        e2e_fail "$name: a message was accepted while the milter was down"
        return
    fi
    e2e_pass "$name ($got)"
}

# Issue 19: a client the block list provider lists gets Exchange's refusal at
# RCPT (its MAIL is accepted: the lookup started at connect is read at RCPT),
# while postmaster@ stays reachable from it and an unlisted client passes.
# The sender's domain has no SPF record, so SPF (none) decides nothing.
scenario_block_listed_client_is_refused_at_rcpt() {
    local name=BlockListedClientIsRefusedAtRcptWithExchangesText t
    t=$(e2e_transcript "$name" "$E2E_LISTED_CLIENT" "" bob@nospf.example listed@e2e.test)
    e2e_expect_refusal "$name" "$t" "$(mta_reply 550 5.7.1 listed@e2e.test "$E2E_BLOCK_LISTED_TEXT")" \
        listed@e2e.test && e2e_pass "$name"

    expect_delivered BlockListedClientStillReachesPostmaster "$E2E_LISTED_CLIENT" postmaster@e2e.test
    expect_delivered UnlistedClientPassesTheBlockList "$E2E_INTERNET_CLIENT" unlisted@e2e.test
}

# expect_delivered NAME CLIENT RCPT: mail from CLIENT to RCPT is accepted and
# reaches the MTA's queue or delivery.
expect_delivered() {
    local t
    t=$(e2e_transcript "$1" "$2" "" bob@nospf.example "$3")
    if ! e2e_accepted "$t" || [ -z "$(mta_headers "$3" 20)" ]; then
        e2e_show_transcript "$t"
        e2e_fail "$1: mail from $2 to $3 was not accepted and queued"
        return
    fi
    e2e_pass "$1"
}

# ForwardedMailFailingDmarcIsRefusedUnlessATrustedSealerSawDmarcPass (issue
# 19): a message whose author domain (dmarc-reject.example, p=reject) the
# forwarder's SPF cannot pass and whose body the list changed after sealing
# would fail DMARC at us. It carries one ARC set whose
# ARC-Authentication-Results say dmarc=pass (sealed with python3-dkim's
# arc_sign). Sealed by lists.untrusted.example it is refused with the DMARC
# reply; sealed by lists.trusted.example ([arc] trusted_arc_sealers in
# e2e.conf.in) it is delivered with arc=pass, dmarc=fail, dis=none and
# policy.override=local_policy.
arc_sealed_message() {
    local sealer=$1 out=$2
    /usr/bin/python3 - "$sealer" "$(e2e_top_srcdir)/tests/e2e/arc-sealer.pem" >"$out" <<'PY' || return 1
import sys
import dkim
sealer, key = sys.argv[1].encode(), open(sys.argv[2], "rb").read()
ar = (b"Authentication-Results: " + sealer + b"; arc=none;\r\n spf=pass smtp.mailfrom=dmarc-reject.example;\r\n"
      b" dkim=pass header.d=dmarc-reject.example; dmarc=pass header.from=dmarc-reject.example\r\n")
rest = (b"From: Author <author@dmarc-reject.example>\r\nTo: <arc@e2e.test>\r\n"
        b"Message-ID: <arc-e2e@dmarc-reject.example>\r\nSubject: forwarded\r\n\r\nA message through a list.\r\n")
# Subject is not signed: swaks sets its own.
arc_set = dkim.arc_sign(ar + rest, b"arc", sealer, key, sealer,
                        include_headers=[b"from", b"to", b"message-id"])
if len(arc_set) != 3:
    sys.exit("arc_sign made no ARC set")
sys.stdout.buffer.write(b"".join(arc_set) + rest)
PY
}

scenario_forwarded_mail_failing_dmarc_is_refused_unless_a_trusted_sealer_saw_dmarc_pass() {
    local name=ForwardedMailFailingDmarcIsRefusedUnlessATrustedSealerSawDmarcPass
    local before=$E2E_FAILURES sealer t reply file want
    for sealer in lists.untrusted.example lists.trusted.example; do
        arc_sealed_message "$sealer" "$E2E_WORK/arc.$sealer.eml" || {
            e2e_fail "$name: python3-dkim could not seal the message for $sealer"; return; }
        E2E_SEND_EXTRA=(--data "$E2E_WORK/arc.$sealer.eml")
        t=$(e2e_transcript "$name.$sealer" "$E2E_INTERNET_CLIENT" "" alice@sender.example "arc-$sealer@e2e.test")
        E2E_SEND_EXTRA=()
        reply=$(e2e_data_reply "$t")
        case $sealer in
            lists.untrusted.example)
                case $reply in
                    "550 5.7.1 Rejected by DMARC policy"*) ;;
                    *) e2e_show_transcript "$t"; e2e_fail "$name: untrusted sealer: '$reply', not the DMARC refusal" ;;
                esac ;;
            *)
                if ! e2e_accepted "$t"; then
                    e2e_show_transcript "$t"
                    e2e_fail "$name: trusted sealer: '$reply', not accepted"
                    continue
                fi
                file=$(mta_headers "arc-$sealer@e2e.test" 20 | tr -d '\r' |
                    awk '/^Authentication-Results:/ { p = 1; print; next } p && /^[ \t]/ { print; next } { p = 0 }')
                for want in "arc=pass" "smtp.remote-ip=$E2E_INTERNET_CLIENT" "dmarc=fail" "dis=none" \
                    "policy.override=local_policy" "lists.trusted.example (i=1)"; do
                    case $file in
                        *"$want"*) ;;
                        *) e2e_fail "$name: trusted sealer: no '$want' in: $file" ;;
                    esac
                done ;;
        esac
    done
    [ "$E2E_FAILURES" -eq "$before" ] && e2e_pass "$name ($(mta_name))"
}

e2e_run_scenarios() {
    scenario_anonymous_delivery_to_accepted_domain_is_accepted
    scenario_authentication_results_header_is_first_with_spf_pass
    scenario_anonymous_relay_is_refused_with_5_7_54
    scenario_lookalike_of_accepted_domain_is_a_relay_recipient
    scenario_relay_connector_ip_may_relay
    scenario_scanner_sends_as_our_domain_unchecked_and_the_header_says_so
    scenario_other_ip_on_relay_binding_cannot_relay
    scenario_device_on_other_binding_cannot_relay
    scenario_authenticated_user_may_relay
    scenario_anonymous_sender_spoofing_is_refused
    scenario_routed_and_unqualified_sender_spoofing_is_refused
    scenario_spf_fail_is_refused_with_5_7_23
    scenario_disguised_forged_authentication_results_are_removed
    scenario_block_listed_client_is_refused_at_rcpt
    scenario_forwarded_mail_failing_dmarc_is_refused_unless_a_trusted_sealer_saw_dmarc_pass
    scenario_milter_down_means_tempfail
}
