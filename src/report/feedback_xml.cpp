#include "report/feedback_xml.hpp"

#include <initializer_list>

namespace report {

namespace {

// Length of the valid UTF-8 sequence at s[i], 0 when there is none.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) n = 3;
    else if (c >= 0xf0 && c <= 0xf4) n = 4;
    else return 0;
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xe0 && c1 < 0xa0) return 0;                // overlong
    if (c == 0xed && c1 >= 0xa0) return 0;               // surrogates
    if (c == 0xf0 && c1 < 0x90) return 0;                // overlong
    if (c == 0xf4 && c1 >= 0x90) return 0;               // beyond U+10FFFF
    if (c == 0xef && c1 == 0xbf && (static_cast<unsigned char>(s[i + 2]) & 0xfe) == 0xbe) return 0;  // U+FFFE/F
    return n;
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> allowed) {
    for (auto a : allowed)
        if (v == a) return true;
    return false;
}

class Writer {
public:
    void open(std::string_view name) {
        indent();
        out_ += "<" + std::string(name) + ">\n";
        ++depth_;
    }
    void close(std::string_view name) {
        --depth_;
        indent();
        out_ += "</" + std::string(name) + ">\n";
    }
    void element(std::string_view name, std::string_view value) {
        indent();
        out_ += "<" + std::string(name) + ">" + xml_text(value) + "</" + std::string(name) + ">\n";
    }
    void raw(std::string_view text) { out_ += text; }
    std::string take() { return std::move(out_); }

private:
    void indent() { out_.append(static_cast<std::size_t>(depth_) * 2, ' '); }
    std::string out_;
    int depth_ = 0;
};

}  // namespace

std::string xml_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const char c = text[i];
        const std::size_t n = utf8_length(text, i);
        if (n == 0) {
            out += '?';
            ++i;
            continue;
        }
        if (n == 1) {
            const auto u = static_cast<unsigned char>(c);
            if (c == '&') out += "&amp;";
            else if (c == '<') out += "&lt;";
            else if (c == '>') out += "&gt;";
            else if (c == '"') out += "&quot;";
            else if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') out += '?';  // not XML 1.0 Char
            else if (u == 0x7f) out += '?';
            else out += c;
        } else {
            out.append(text.substr(i, n));
        }
        i += n;
    }
    return out;
}

std::string feedback_xml(const ReportMetadata& meta, const DomainReport& report, const Rows& rows) {
    Writer w;
    w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w.raw("<feedback xmlns=\"" + std::string(kFeedbackNamespace) + "\" xmlns:cm=\"" +
          std::string(kExtensionNamespace) + "\">\n");
    // Section 3.1.1: version 1.0 ("MUST" be 1.0 when present).
    w.raw("  <version>1.0</version>\n");
    w.raw("  <report_metadata>\n");
    auto el = [&](int depth, std::string_view name, std::string_view value) {
        w.raw(std::string(static_cast<std::size_t>(depth) * 2, ' ') + "<" + std::string(name) + ">" + xml_text(value) +
              "</" + std::string(name) + ">\n");
    };
    el(2, "org_name", meta.org_name);
    el(2, "email", meta.email);
    if (!meta.extra_contact_info.empty()) el(2, "extra_contact_info", meta.extra_contact_info);
    el(2, "report_id", meta.report_id);
    w.raw("    <date_range>\n");
    el(3, "begin", std::to_string(meta.begin));
    el(3, "end", std::to_string(meta.end));
    w.raw("    </date_range>\n");
    if (!meta.generator.empty()) el(2, "generator", meta.generator);
    w.raw("  </report_metadata>\n");

    const PublishedPolicy& pol = report.policy;
    auto disposition_or_none = [](const std::string& v) -> std::string_view {
        return one_of(v, {"none", "quarantine", "reject"}) ? std::string_view(v) : std::string_view("none");
    };
    w.raw("  <policy_published>\n");
    el(2, "domain", report.policy_domain);
    el(2, "p", disposition_or_none(pol.p));
    if (!pol.sp.empty()) el(2, "sp", disposition_or_none(pol.sp));
    if (!pol.np.empty()) el(2, "np", disposition_or_none(pol.np));
    el(2, "adkim", pol.adkim == 's' ? "s" : "r");
    el(2, "aspf", pol.aspf == 's' ? "s" : "r");
    if (one_of(pol.discovery, {"psl", "treewalk"})) el(2, "discovery_method", pol.discovery);
    if (!pol.fo.empty()) el(2, "fo", pol.fo);
    el(2, "testing", pol.testing == 'y' ? "y" : "n");
    w.raw("  </policy_published>\n");
    w.raw("  <extension>\n");
    w.raw("    <cm:psd>" + std::string(1, pol.psd == 'y' || pol.psd == 'n' ? pol.psd : 'u') + "</cm:psd>\n");
    w.raw("  </extension>\n");

    auto result_or = [](const std::string& v, std::initializer_list<std::string_view> allowed, std::string_view dflt) {
        return one_of(v, allowed) ? std::string_view(v) : dflt;
    };
    for (const auto& [key, count] : rows) {
        const RowKey& k = *key;
        w.raw("  <record>\n    <row>\n");
        el(3, "source_ip", k.source_ip);
        el(3, "count", std::to_string(count));
        w.raw("      <policy_evaluated>\n");
        el(4, "disposition", result_or(k.disposition, {"none", "pass", "quarantine", "reject"}, "none"));
        el(4, "dkim", k.dkim_aligned ? "pass" : "fail");
        el(4, "spf", k.spf_aligned ? "pass" : "fail");
        if (one_of(k.reason_type, {"local_policy", "mailing_list", "other", "policy_test_mode", "trusted_forwarder"})) {
            w.raw("        <reason>\n");
            el(5, "type", k.reason_type);
            if (!k.reason_comment.empty()) el(5, "comment", k.reason_comment);
            w.raw("        </reason>\n");
        }
        w.raw("      </policy_evaluated>\n    </row>\n    <identifiers>\n");
        el(3, "header_from", k.header_from);
        // Section 3.1.1: envelope_from "MAY be existing but empty" for the
        // null reverse-path; we state it so.
        el(3, "envelope_from", k.envelope_from);
        if (!k.envelope_to.empty()) el(3, "envelope_to", k.envelope_to);
        w.raw("    </identifiers>\n    <auth_results>\n");
        for (const auto& d : k.dkim) {
            w.raw("      <dkim>\n");
            el(4, "domain", d.domain);
            el(4, "selector", d.selector);
            el(4, "result",
               result_or(d.result, {"none", "pass", "fail", "policy", "neutral", "temperror", "permerror"}, "permerror"));
            w.raw("      </dkim>\n");
        }
        if (!k.spf_domain.empty()) {
            w.raw("      <spf>\n");
            el(4, "domain", k.spf_domain);
            // The schema knows only the mfrom scope; a HELO check (null
            // reverse-path, RFC 7208 section 2.4) is said in human_result.
            if (k.spf_scope == "mfrom") el(4, "scope", "mfrom");
            el(4, "result", result_or(k.spf_result,
                                      {"none", "pass", "fail", "softfail", "policy", "neutral", "temperror", "permerror"},
                                      "permerror"));
            if (k.spf_scope == "helo") el(4, "human_result", "HELO identity checked (null reverse-path): " + k.helo);
            w.raw("      </spf>\n");
        }
        w.raw("    </auth_results>\n  </record>\n");
    }
    w.raw("</feedback>\n");
    return w.take();
}

}  // namespace report
