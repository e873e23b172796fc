// Who gets DKIM-signed: a decision of the connector and the session's
// principal, in the connector vocabulary (issue 15). A connector signs when
// its `dkim_sign` says so, and then only for principals whose mail is the
// organisation's own:
// - a local submission (a program on this machine: Postfix's sendmail
//   command through non_smtpd_milters, sendmail's own submissions);
// - an SMTP AUTH login accepted on the connector (Client Frontend, 587);
// - an externally secured server (ExternalAuthoritative);
// - a session the connector lets relay (Ms-Exch-SMTP-Accept-Any-Recipient):
//   the relay connector of internal devices and application servers.
// An anonymous session that may not relay - inbound mail on the
// internet-facing connector - is never signed, whatever the connector says.
#pragma once
#include <string>

#include "policy/connector.hpp"
#include "policy/local_submission.hpp"
#include "policy/session_rights.hpp"

namespace policy {

struct SigningDecision {
    bool sign = false;
    std::string why;  // for the log and `explain`: why it signs or why not
};

// `connector_signs`: the connector's dkim_sign, or for the built-in
// local-submission connector [dkim_signing] local_submissions.
SigningDecision decide_signing(const Connector& connector, bool connector_signs, const SessionRights& rights,
                               LocalSubmission local);

}  // namespace policy
