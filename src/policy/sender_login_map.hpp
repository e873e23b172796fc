// Send-As for authenticated sessions, in the style of Postfix's
// smtpd_sender_login_maps: "address login[,login...]" per line.
#pragma once
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace policy {

class SenderLoginMap {
public:
    // One line of the file: blank and '#' lines are ignored. "address" may be
    // "user@domain" or "@domain" (every address of the domain). Returns false
    // and sets *error for a malformed line.
    bool add_line(std::string_view line, std::string* error = nullptr);

    // May `login` send as `address`? True when the login is itself that
    // address, or the map lists it for the address or its @domain.
    // Comparison is case-insensitive.
    bool allows(std::string_view login, std::string_view address) const;

private:
    std::map<std::string, std::set<std::string>, std::less<>> logins_by_address_;
};

}  // namespace policy
