# The reply table of issue 11, shared by replies.test (Postfix) and
# sendmail.test (bash; source common.sh first): connectors that reach every
# entry of policy/replies.cpp's table, the scenarios, and the replies the
# client must see.
#
# A test defines these hooks before calling replies_run_table:
#   rt_send NAME CLIENT LOGIN PORT SWAKS_ARGS... -> path of the transcript of
#       one session from CLIENT to the MTA's binding 10.0.0.50:PORT, logged in
#       as LOGIN unless it is empty
#   rt_shown STAGE ADDRESS REPLY -> the line the client sees when the milter
#       answers REPLY at STAGE (helo, mail, rcpt, data) about ADDRESS
#   rt_connect_refused NAME TRANSCRIPT REPLY -> checks (e2e_pass/e2e_fail) a
#       refusal at the connect stage, which MTAs show in words of their own
#   rt_hold CLIENT -> keeps one session from CLIENT open (sets RT_HOLD_PID)
#   mta_headers RECIPIENT SECONDS -> headers of a message accepted for it
# The variable E2E_WORK names a directory for transcripts.  What the client
# sees is compared in full: an MTA that refused the milter's reply would show
# a text of its own, or (Postfix, milter_default_action = accept) accept.

RT_HOLD_PID=""

# The texts, written out from man/connector-milter.conf.5's table.
readonly R_NO_CONNECTOR="421 4.3.2 Service not available"
readonly R_REQUIRE_TLS="530 5.7.0 Must issue a STARTTLS command first"
readonly R_ANONYMOUS_NO_SUBMIT="530 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM"
readonly R_AUTHENTICATED_NO_SUBMIT="550 5.7.1 Client does not have permissions to submit to this server"
readonly R_MESSAGE_TOO_LARGE="552 5.3.4 Message size exceeds fixed maximum message size"
readonly R_RATE_LIMITED="421 4.4.2 Message submission rate for this client has exceeded the configured limit"
readonly R_TOO_MANY_CONNECTIONS="421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel"
readonly R_TOO_MANY_RECIPIENTS="452 4.5.3 Too many recipients"
readonly R_RELAY_DENIED="550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"
readonly R_SENDER_DENIED="550 5.7.1 Client does not have permissions to send as this sender"
readonly R_ANONYMOUS_SENDER_DENIED="550 5.7.1 Anonymous client does not have permissions to send as this sender"
readonly R_EHLO_REQUIRES_DOMAIN="501 5.0.0 EHLO requires domain address"
readonly R_INVALID_ADDRESS="501 5.1.3 Invalid address"
readonly R_SPF_FAIL="550 5.7.23 SPF validation failed"
readonly R_SPF_PERMERROR="550 5.7.24 SPF validation error"
readonly R_SPF_TEMPERROR="451 4.7.24 SPF validation error: temporary DNS failure, try again later"
readonly R_DMARC_REJECT="550 5.7.1 Rejected by DMARC policy for"
readonly R_DMARC_TEMPERROR="451 4.7.5 DMARC could not be evaluated because of a temporary error, try again later"
readonly R_BAD_FROM="550 5.7.1 Message needs exactly one From: address domain"

readonly RT_INTERNET=192.0.2.7        # sender.example's SPF lists it
readonly RT_USER_CLIENT=198.51.100.9
readonly RT_LOGIN=carol@e2e.test

# One connector per situation, each for one client address (a single IP is
# the most specific remote range, so it wins over the Default Frontend); the
# addresses are in sender.example's SPF record.
# rt_connector NAME CLIENT [TOML_LINE...]: a connector on port 25 for one
# client address, without tarpit.
rt_connector() {
    printf '[[connector]]\nname = "%s"\nbindings = ["0.0.0.0:25"]\nremote_ip_ranges = ["%s"]\ntarpit_interval = 0\n' "$1" "$2"
    shift 2
    printf '%s\n' "$@" ""
}

replies_connectors_toml() {
    local anonymous='permission_groups = ["AnonymousUsers"]'
    rt_connector "Require TLS" 10.0.0.11 "$anonymous" "require_tls = true"
    rt_connector "Users only" 10.0.0.12 'permission_groups = ["ExchangeUsers"]' 'auth_mechanisms = ["BasicAuth"]'
    rt_connector "Anonymous only" 10.0.0.13 "$anonymous" 'auth_mechanisms = ["BasicAuth"]'
    rt_connector "Small" 10.0.0.14 "$anonymous" 'max_message_size = "4KB"' "max_recipients_per_message = 1"
    rt_connector "Rate" 10.0.0.15 "$anonymous" "message_rate_limit = 1"
    rt_connector "One connection" 10.0.0.16 "$anonymous" "max_inbound_connection_per_source = 1"
    rt_connector "EHLO domain" 10.0.0.17 "$anonymous" "require_ehlo_domain = true"
    printf '[spf]\npermerror_action = "reject"\n'
}

# rt_expect NAME TRANSCRIPT STAGE ADDRESS REPLY RECIPIENT: the first refusal
# the client saw is exactly what the MTA shows for REPLY, and nothing was
# accepted for RECIPIENT.
rt_expect() {
    local name=$1 t=$2 stage=$3 address=$4 reply=$5 rcpt=$6 got want
    want=$(rt_shown "$stage" "$address" "$reply")
    got=$(e2e_first_refusal "$t")
    if [ "$got" != "$want" ]; then
        grep -E '^(<|  *[-~]>)' "$t" | grep -v -E '^<[-~] +250-' | sed 's/^/    /' >&2
        e2e_fail "$name: the client saw \"${got:-no refusal}\", want \"$want\""
        return 1
    fi
    if [ -n "$(mta_headers "$rcpt" 1)" ]; then
        e2e_fail "$name: refused, yet a message for $rcpt was accepted"
        return 1
    fi
    e2e_pass "$name"
}

# A message body of about 8 KB (over the Small connector's 4KB).
big_body() {
    local i
    for i in $(seq 1 100); do
        printf 'line %03d of a message that is larger than the connector allows xxxxxxxxxxxxxxxxxx\n' "$i"
    done
}

replies_run_table() {
    local t
    # Done when (issue 11): an anonymous client that skips STARTTLS on a
    # RequireTLS connector relays nothing, even with milter_default_action =
    # accept.
    t=$(rt_send RequireTlsRefusesAnonymousRelayWithoutStarttls 10.0.0.11 "" 25 \
        --from alice@sender.example --to victim@outside.example)
    rt_expect RequireTlsRefusesAnonymousRelayWithoutStarttls "$t" mail alice@sender.example "$R_REQUIRE_TLS" victim@outside.example

    t=$(rt_send AnonymousClientWithoutSubmitRightIsRefused 10.0.0.12 "" 25 \
        --from alice@sender.example --to nosubmit@e2e.test)
    rt_expect AnonymousClientWithoutSubmitRightIsRefused "$t" mail alice@sender.example "$R_ANONYMOUS_NO_SUBMIT" nosubmit@e2e.test

    t=$(rt_send AuthenticatedClientWithoutSubmitRightIsRefused 10.0.0.13 "$RT_LOGIN" 25 \
        --from "$RT_LOGIN" --to authnosubmit@e2e.test)
    rt_expect AuthenticatedClientWithoutSubmitRightIsRefused "$t" mail "$RT_LOGIN" "$R_AUTHENTICATED_NO_SUBMIT" authnosubmit@e2e.test

    t=$(rt_send MessageOverTheConnectorsSizeIsRefused 10.0.0.14 "" 25 \
        --from alice@sender.example --to big@e2e.test --body "$(big_body)")
    rt_expect MessageOverTheConnectorsSizeIsRefused "$t" data "" "$R_MESSAGE_TOO_LARGE" big@e2e.test

    t=$(rt_send SecondRecipientOverTheLimitIsRefused 10.0.0.14 "" 25 \
        --from alice@sender.example --to first@e2e.test,second@e2e.test)
    rt_expect SecondRecipientOverTheLimitIsRefused "$t" rcpt second@e2e.test "$R_TOO_MANY_RECIPIENTS" second@e2e.test

    t=$(rt_send RateLimitFirstMessage 10.0.0.15 "" 25 --from alice@sender.example --to rate1@e2e.test)
    if e2e_accepted "$t"; then
        t=$(rt_send SecondMessageOverTheRateIsRefused 10.0.0.15 "" 25 --from alice@sender.example --to rate2@e2e.test)
        rt_expect SecondMessageOverTheRateIsRefused "$t" mail alice@sender.example "$R_RATE_LIMITED" rate2@e2e.test
    else
        e2e_fail "SecondMessageOverTheRateIsRefused: the first message was not accepted"
    fi

    rt_hold 10.0.0.16
    t=$(rt_send SecondConnectionOverTheLimitIsRefused 10.0.0.16 "" 25 --from alice@sender.example --to conn2@e2e.test)
    rt_connect_refused SecondConnectionOverTheLimitIsRefused "$t" "$R_TOO_MANY_CONNECTIONS"
    e2e_stop_pid "$RT_HOLD_PID"
    RT_HOLD_PID=""

    t=$(rt_send EhloWithoutDomainIsRefused 10.0.0.17 "" 25 --helo nodomain \
        --from alice@sender.example --to ehlo@e2e.test)
    rt_expect EhloWithoutDomainIsRefused "$t" helo "" "$R_EHLO_REQUIRES_DOMAIN" ehlo@e2e.test

    t=$(rt_send NoConnectorForTheBindingIsRefused "$RT_INTERNET" "" 26 --from alice@sender.example --to noconn@e2e.test)
    rt_connect_refused NoConnectorForTheBindingIsRefused "$t" "$R_NO_CONNECTOR"

    t=$(rt_send AnonymousRelayIsRefused "$RT_INTERNET" "" 25 --from alice@sender.example --to anon-relay@outside.example)
    rt_expect AnonymousRelayIsRefused "$t" rcpt anon-relay@outside.example "$R_RELAY_DENIED" anon-relay@outside.example

    t=$(rt_send AuthenticatedUserCannotSendAsAnotherSender "$RT_USER_CLIENT" "$RT_LOGIN" 25 \
        --from someone@outside.example --to sendas@e2e.test)
    rt_expect AuthenticatedUserCannotSendAsAnotherSender "$t" mail someone@outside.example "$R_SENDER_DENIED" sendas@e2e.test

    t=$(rt_send AnonymousClientCannotSendAsOurDomain "$RT_INTERNET" "" 25 --from ceo@e2e.test --to spoof@e2e.test)
    rt_expect AnonymousClientCannotSendAsOurDomain "$t" mail ceo@e2e.test "$R_ANONYMOUS_SENDER_DENIED" spoof@e2e.test

    t=$(rt_send MalformedSenderIsRefused "$RT_INTERNET" "" 25 --from 'user@exa_mple.example' --to malformed@e2e.test)
    rt_expect MalformedSenderIsRefused "$t" mail user@exa_mple.example "$R_INVALID_ADDRESS" malformed@e2e.test

    t=$(rt_send SpfFailIsRefusedWithTheExplanation "$RT_INTERNET" "" 25 --from someone@forged.example --to spffail@e2e.test)
    rt_expect SpfFailIsRefusedWithTheExplanation "$t" mail someone@forged.example \
        "$R_SPF_FAIL: forged.example does not designate $RT_INTERNET as a permitted sender (SPF)" spffail@e2e.test

    # The explanation comes from the sender's DNS: twelve copies of a 60
    # octet local part with '%' in it would make a 770 octet reply, which
    # libmilter refuses (980 octets once '%' is doubled).  It is cut to a
    # 510 octet line ending in "...", and both '%' show as one.
    local lp
    lp="x%y$(printf 'z%.0s' $(seq 1 57))"
    local want="$R_SPF_FAIL: " n=0
    while [ "$n" -lt 12 ]; do want+="$lp "; n=$((n + 1)); done
    want=${want% }
    want="${want:0:507}..."
    t=$(rt_send LongSpfExplanationIsCutToOneReplyLine "$RT_INTERNET" "" 25 --from "$lp@longexp.example" --to longexp@e2e.test)
    rt_expect LongSpfExplanationIsCutToOneReplyLine "$t" mail "$lp@longexp.example" "$want" longexp@e2e.test

    t=$(rt_send SpfPermErrorIsRefused "$RT_INTERNET" "" 25 --from someone@permerror.example --to permerror@e2e.test)
    rt_expect SpfPermErrorIsRefused "$t" mail someone@permerror.example "$R_SPF_PERMERROR" permerror@e2e.test

    t=$(rt_send SpfTempErrorIsDeferred "$RT_INTERNET" "" 25 --from someone@temperror.example --to temperror@e2e.test)
    rt_expect SpfTempErrorIsDeferred "$t" mail someone@temperror.example "$R_SPF_TEMPERROR" temperror@e2e.test

    t=$(rt_send DmarcRejectIsRefused "$RT_INTERNET" "" 25 --from alice@sender.example --to dmarc@e2e.test \
        --h-From "<boss@dmarc-reject.example>")
    rt_expect DmarcRejectIsRefused "$t" data "" "$R_DMARC_REJECT dmarc-reject.example" dmarc@e2e.test

    t=$(rt_send DmarcTempErrorIsDeferred "$RT_INTERNET" "" 25 --from alice@sender.example --to dmarctemp@e2e.test \
        --h-From "<boss@dmarc-temp.example>")
    rt_expect DmarcTempErrorIsDeferred "$t" data "" "$R_DMARC_TEMPERROR" dmarctemp@e2e.test

    t=$(rt_send FromWithTwoDomainsIsRefused "$RT_INTERNET" "" 25 --from alice@sender.example --to badfrom@e2e.test \
        --h-From "<a@sender.example>, <b@other.example>")
    rt_expect FromWithTwoDomainsIsRefused "$t" data "" "$R_BAD_FROM" badfrom@e2e.test
}

