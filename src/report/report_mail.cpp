#include "report/report_mail.hpp"

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <sstream>

namespace report {

namespace {

// Header field values: no control characters (no header injection through
// a policy domain or a configured value).
std::string header_safe(std::string_view s) {
    std::string out;
    for (char c : s) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    return out;
}

std::string base64_lines(std::string_view data) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t line = 0;
    for (std::size_t i = 0; i < data.size(); i += 3) {
        const std::uint32_t b0 = static_cast<unsigned char>(data[i]);
        const std::uint32_t b1 = i + 1 < data.size() ? static_cast<unsigned char>(data[i + 1]) : 0;
        const std::uint32_t b2 = i + 2 < data.size() ? static_cast<unsigned char>(data[i + 2]) : 0;
        const std::uint32_t n = (b0 << 16) | (b1 << 8) | b2;
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += i + 1 < data.size() ? kAlphabet[(n >> 6) & 63] : '=';
        out += i + 2 < data.size() ? kAlphabet[n & 63] : '=';
        // RFC 2045 section 6.8: lines of at most 76 characters.
        if ((line += 4) == 76) {
            out += '\n';
            line = 0;
        }
    }
    if (line) out += '\n';
    return out;
}

std::string rfc5322_date(std::int64_t t) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday], tm.tm_mday,
                  kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

}  // namespace

std::string gzip(std::string_view data) {
    z_stream zs{};
    // windowBits 15 + 16: a gzip wrapper (RFC 1952) rather than zlib's.
    if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
    std::string out;
    out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    const auto produced = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) return {};
    out.resize(produced);
    return out;
}

std::string report_filename(std::string_view submitter, std::string_view policy_domain, std::int64_t begin,
                            std::int64_t end, std::string_view unique_id) {
    std::string name = std::string(submitter) + "!" + std::string(policy_domain) + "!" + std::to_string(begin) + "!" +
                       std::to_string(end);
    if (!unique_id.empty()) name += "!" + std::string(unique_id);
    return name + ".xml.gz";
}

std::string report_subject(std::string_view policy_domain, std::string_view submitter, std::string_view report_id) {
    return "Report Domain: " + header_safe(policy_domain) + "\n Submitter: " + header_safe(submitter) +
           "\n Report-ID: <" + header_safe(report_id) + ">";
}

std::string mime_message(const MailParts& p) {
    // The boundary cannot occur in base64 text or in our text part ('=' and
    // '_' together never appear in either).
    const std::string boundary = "=_dmarc_report_" + std::to_string(p.date) + "_=";
    std::ostringstream m;
    m << "From: " << header_safe(p.from) << "\n"
      << "To: " << header_safe(p.to) << "\n"
      << "Subject: " << p.subject << "\n"
      << "Date: " << rfc5322_date(p.date) << "\n"
      << "Message-ID: <" << header_safe(p.message_id) << ">\n"
      << "MIME-Version: 1.0\n"
      << "Content-Type: multipart/mixed; boundary=\"" << boundary << "\"\n"
      << "\n"
      << "This is a DMARC aggregate report (RFC 9990) in MIME format.\n"
      << "\n--" << boundary << "\n"
      << "Content-Type: text/plain; charset=us-ascii\n"
      << "Content-Transfer-Encoding: 7bit\n\n"
      << p.text << (p.text.empty() || p.text.back() != '\n' ? "\n" : "")
      << "\n--" << boundary << "\n"
      << "Content-Type: application/gzip; name=\"" << header_safe(p.filename) << "\"\n"
      << "Content-Disposition: attachment; filename=\"" << header_safe(p.filename) << "\"\n"
      << "Content-Transfer-Encoding: base64\n\n"
      << base64_lines(p.attachment) << "\n--" << boundary << "--\n";
    return m.str();
}

bool pipe_to_command(const std::string& command, const std::string& message, std::string* error) {
    std::vector<std::string> args;
    std::istringstream words(command);
    for (std::string w; words >> w;) args.push_back(w);
    if (args.empty()) {
        *error = "empty sender_command";
        return false;
    }
    int fds[2];
    if (pipe(fds) != 0) {
        *error = std::string("pipe: ") + std::strerror(errno);
        return false;
    }
    const pid_t pid = fork();
    if (pid < 0) {
        *error = std::string("fork: ") + std::strerror(errno);
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    if (pid == 0) {
        dup2(fds[0], 0);
        close(fds[0]);
        close(fds[1]);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        execvp(argv[0], argv.data());
        _exit(127);
    }
    close(fds[0]);
    std::size_t off = 0;
    bool write_failed = false;
    while (off < message.size()) {
        const ssize_t n = write(fds[1], message.data() + off, message.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            write_failed = true;
            break;
        }
        off += static_cast<std::size_t>(n);
    }
    close(fds[1]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !write_failed) return true;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) *error = args[0] + ": cannot run it";
    else if (WIFEXITED(status)) *error = args[0] + " exited with status " + std::to_string(WEXITSTATUS(status));
    else *error = args[0] + " was killed by a signal";
    return false;
}

}  // namespace report
