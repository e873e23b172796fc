// Test helpers for the conformance suites whose YAML a python3 script turns
// into tab-separated lines (the C++ build has no YAML library): run the
// converter and split its lines (backslash escapes \\ \t \n \r).
#pragma once
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace testing_suite {

inline std::vector<std::string> split_fields(const std::string& line) {
    std::vector<std::string> fields(1);
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (c == '\t') {
            fields.emplace_back();
        } else if (c == '\\' && i + 1 < line.size()) {
            const char e = line[++i];
            fields.back().push_back(e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e);
        } else {
            fields.back().push_back(c);
        }
    }
    return fields;
}

// tests/unit/<script> in the source tree: $TOP_SRCDIR, else next to `here`
// (pass __FILE__).
inline std::string script_path(const std::string& script, const std::string& here) {
    if (const char* top = std::getenv("TOP_SRCDIR"); top && *top) return std::string(top) + "/tests/unit/" + script;
    return here.substr(0, here.rfind('/') + 1) + script;
}

inline std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// The converter's whole output, or nullopt with `why`.
inline std::optional<std::string> run_converter(const std::string& script, const std::string& yaml, std::string& why) {
    const std::string command = "python3 " + shell_quote(script) + " " + shell_quote(yaml);
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    if (!pipe) {
        why = "cannot run " + command;
        return std::nullopt;
    }
    std::string text;
    char buf[4096];
    while (const std::size_t n = std::fread(buf, 1, sizeof buf, pipe.get())) text.append(buf, n);
    const int status = pclose(pipe.release());
    if (status != 0) {
        why = "'" + command + "' failed (needs python3 and python3-yaml); exit status " + std::to_string(status);
        return std::nullopt;
    }
    return text;
}

}  // namespace testing_suite
