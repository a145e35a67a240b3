// src/alerting/yaml_support.h (internal): the small helpers of vigil's YAML file loaders (rule
// files, routing files) over yaml-cpp: 1-based lines, the tag Go's yaml decoders report for a
// node, UTF-8 and label-name checks, Go-style quoting for messages.
//
//   using namespace vigil::alerting::yaml_support;
//   error(line_of(node), "cannot unmarshal " + go_tag(node) + " into string");
//
// Thread-safety: pure functions.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <string_view>

namespace vigil::alerting::yaml_support {

// Parses `text` (yaml-cpp). On a syntax error: false, with the 1-based line of the error (0 when
// unknown) and a message "yaml: ..." (with a hint when tabs indent the text). Rethrows
// std::bad_alloc; never throws otherwise.
inline bool load_yaml(std::string_view text, YAML::Node& root, int& line, std::string& message) {
  try {
    root = YAML::Load(std::string(text));
    return true;
  } catch (const YAML::Exception& e) {
    message = "yaml: " + e.msg;
    if (text.find("\n\t") != std::string_view::npos || text.substr(0, 1) == "\t") {
      message += " (tabs cannot indent YAML: use spaces)";
    }
    line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    message = std::string("yaml: ") + e.what();
    line = 0;
  }
  return false;
}

// The 1-based line of `n`, 0 when unknown.
inline int line_of(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  return m.line >= 0 ? m.line + 1 : 0;
}

// The tag yaml.v3 reports for a node ("!!seq", "!!str", "!!int", ...).
inline std::string go_tag(const YAML::Node& n) {
  if (n.IsSequence()) return "!!seq";
  if (n.IsMap()) return "!!map";
  if (n.IsNull()) return "!!null";
  if (n.Tag() != "?") return "!!str";  // quoted, or explicitly tagged
  const std::string& s = n.Scalar();
  if (s == "true" || s == "false" || s == "True" || s == "False" || s == "TRUE" || s == "FALSE") {
    return "!!bool";
  }
  char* end = nullptr;
  errno = 0;
  (void)std::strtoll(s.c_str(), &end, 0);
  if (!s.empty() && end == s.c_str() + s.size()) return "!!int";
  (void)std::strtod(s.c_str(), &end);
  if (!s.empty() && end == s.c_str() + s.size() && s.find_first_of("xX") == std::string::npos) {
    return "!!float";
  }
  if (s == ".inf" || s == "-.inf" || s == ".nan" || s == ".Inf" || s == ".NaN") return "!!float";
  return "!!str";
}

inline bool valid_utf8(std::string_view s, std::size_t& bad_at) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07u;
    } else {
      bad_at = i;
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size() || (static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
        bad_at = i;
        return false;
      }
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
      bad_at = i;
      return false;
    }
    i += n + 1;
  }
  return true;
}

inline bool valid_label_name(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

inline std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace vigil::alerting::yaml_support
