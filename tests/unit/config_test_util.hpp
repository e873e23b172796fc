// Helpers shared by the config unit tests: a private temporary folder per
// test and small file writers. Tests never touch the real system's files.
#pragma once
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace config_test {

class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "config_test.XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    std::string write(const std::string& name, const std::string& text, bool executable = false) const {
        const std::filesystem::path p = path_ / name;
        std::filesystem::create_directories(p.parent_path());
        {
            std::ofstream out(p, std::ios::binary);
            out << text;
        }
        if (executable) chmod(p.c_str(), 0755);
        return p.string();
    }

private:
    std::filesystem::path path_;
};

inline std::string join_errors(const config::LoadResult& r) {
    std::string out;
    for (const auto& e : r.errors) out += e.to_string() + "\n";
    return out;
}

inline std::vector<std::string> error_strings(const config::LoadResult& r) {
    std::vector<std::string> out;
    for (const auto& e : r.errors) out.push_back(e.to_string());
    return out;
}

// A minimal valid connector, for tests that exercise other sections.
inline const char* kMinimalConnector =
    "[[connector]]\n"
    "name = \"Default Frontend\"\n"
    "bindings = [\"0.0.0.0:25\"]\n"
    "remote_ip_ranges = [\"0.0.0.0/0\"]\n"
    "permission_groups = [\"AnonymousUsers\"]\n";

inline std::string top_srcdir() {
    const char* dir = std::getenv("TOP_SRCDIR");
    return dir == nullptr ? std::string() : std::string(dir);
}

inline std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text;
}

}  // namespace config_test
