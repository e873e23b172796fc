# Many test messages through the private Postfix from chosen client
# addresses, sent by one Python process (lib/xclient_send.py; swaks per
# message costs about a second on a loaded machine). Bash; source
# lib/common.sh and lib/postfix.sh first.

# xclient_send LIST REPLIES [DKIM_KEY]: sends the messages of LIST ("LABEL
# CLIENT_IP FROM [DKIM_DOMAIN]" a line) to rcpt@e2e.test through the instance
# on $PF_PORT; "LABEL CODE TEXT" per message is appended to REPLIES.
xclient_send() {
    /usr/bin/python3 "$(e2e_top_srcdir)/tests/e2e/lib/xclient_send.py" "$PF_PORT" "$1" ${3:+"$3"} >>"$2" 2>&1
}

# xclient_reply REPLIES LABEL: the reply the message LABEL got.
xclient_reply() { awk -v l="$2" '$1 == l { $1 = ""; sub(/^ /, ""); print }' "$1"; }

# xclient_expect CHECK_NAME REPLIES LABEL PATTERN: a pass when the reply of
# message LABEL matches the (bash) regular expression PATTERN.
xclient_expect() {
    local got
    got=$(xclient_reply "$2" "$3")
    if [[ "$got" =~ $4 ]]; then e2e_pass "$1"; else e2e_fail "$1: reply \"$got\""; fi
}
