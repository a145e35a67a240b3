// tests/alerting/promtool_util.h: run the real `promtool` (Prometheus 2.42) from tests, to check
// that vigil agrees with Prometheus. Tests GTEST_SKIP when promtool is not installed.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace vigil_test {

inline bool have_promtool() {
  static const bool have = std::system("promtool --version >/dev/null 2>&1") == 0;
  return have;
}

struct CommandResult {
  int status = -1;  // exit status
  std::string output;
};

// Runs `command` through the shell, capturing stdout and stderr.
inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* f = ::popen((command + " 2>&1").c_str(), "r");
  if (f == nullptr) return r;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) r.output.append(buf, n);
  const int st = ::pclose(f);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// A fresh directory under the system temp dir, removed at destruction.
class TempDir {
 public:
  explicit TempDir(std::string_view tag) {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("vigil_" + std::string(tag) + "_" + std::to_string(::getpid()) + "_" +
             std::to_string(++counter));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, std::string_view content) const {
    const auto p = path_ / name;
    std::ofstream out(p, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    return p.string();
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A YAML double-quoted scalar holding `s` (JSON string syntax is valid YAML).
inline std::string yaml_quote(std::string_view s) { return nlohmann::json(std::string(s)).dump(); }

}  // namespace vigil_test
