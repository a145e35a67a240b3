// alertmanager.yml-style routing files (see vigil/alerting/routing.h). The checks follow
// Alertmanager 0.25's config.Load (strict YAML decoding, the receivers' defaults from `global:`,
// the route and inhibition checks) and pkg/labels' matcher parser; they are compared with
// `amtool check-config` in tests/alerting/routing_test.cc. What vigil deliberately does
// differently:
//  - fields Alertmanager accepts but vigil does not act on (time intervals, templates, other
//    receiver types, some channel and http_config fields) load with a warning; their values are
//    not checked, so a file Alertmanager rejects for a bad value there loads in vigil;
//  - a null item in `routes:` or `receivers:` is an error here (Alertmanager 0.25 crashes on
//    it: a nil pointer dereference in amtool check-config);
//  - `*_file` secrets (api_url_file, routing_key_file, password_file...) are not read: a warning,
//    and the channel's factory later reports the missing secret.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "alerting/label_matcher.h"
#include "alerting/promql/parser.h"
#include "alerting/yaml_support.h"
#include "vigil/alerting/routing.h"
#include "vigil/core/error.h"

namespace vigil::alerting {
namespace {

using yaml_support::go_tag;
using yaml_support::line_of;
using yaml_support::quoted;
using yaml_support::valid_label_name;
using yaml_support::valid_utf8;

// At most this many YAML nodes are looked at: aliases can make a small file look huge.
constexpr std::size_t kMaxNodes = 2'000'000;
// Route trees deeper than this are refused (Alertmanager has no limit; yaml-cpp stops nesting
// at 2000 levels anyway, and the router recurses once per level).
constexpr int kMaxRouteDepth = 128;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// Alertmanager's ParseMatcher on one token (the regex
// ^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*((?s).*?)\s*$ then the unescaping of the value).
std::optional<LabelMatcher> parse_one(std::string_view s, std::string* error) {
  auto fail = [&](std::string msg) -> std::optional<LabelMatcher> {
    if (error) *error = std::move(msg);
    return std::nullopt;
  };
  size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  const size_t name_start = i;
  auto name_char = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
  };
  if (i >= s.size() || !name_char(s[i], true)) {
    return fail("bad matcher format: " + std::string(s));
  }
  while (i < s.size() && name_char(s[i], false)) ++i;
  LabelMatcher m;
  m.name = std::string(s.substr(name_start, i - name_start));
  while (i < s.size() && is_space(s[i])) ++i;
  const std::string_view rest = s.substr(i);
  if (rest.substr(0, 2) == "=~") {
    m.type = MatchType::kRegexMatch;
    i += 2;
  } else if (rest.substr(0, 1) == "=") {
    m.type = MatchType::kEqual;
    i += 1;
  } else if (rest.substr(0, 2) == "!=") {
    m.type = MatchType::kNotEqual;
    i += 2;
  } else if (rest.substr(0, 2) == "!~") {
    m.type = MatchType::kRegexNoMatch;
    i += 2;
  } else {
    return fail("bad matcher format: " + std::string(s));
  }
  while (i < s.size() && is_space(s[i])) ++i;
  size_t end = s.size();
  while (end > i && is_space(s[end - 1])) --end;
  const std::string_view raw_all = s.substr(i, end - i);
  std::string_view raw = raw_all;
  bool expect_quote = false;
  if (!raw.empty() && raw.front() == '"') {
    raw.remove_prefix(1);
    expect_quote = true;
  }
  size_t bad = 0;
  if (!valid_utf8(raw, bad)) {
    return fail("matcher value not valid UTF-8: " + std::string(raw_all));
  }
  bool escaped = false;
  std::string value;
  for (size_t k = 0; k < raw.size(); ++k) {
    const char c = raw[k];
    if (escaped) {
      escaped = false;
      if (c == 'n') {
        value += '\n';
      } else if (c == '"' || c == '\\') {
        value += c;
      } else {
        value += '\\';
        value += c;
      }
      continue;
    }
    if (c == '\\') {
      if (k + 1 < raw.size()) {
        escaped = true;
        continue;
      }
      value += '\\';
    } else if (c == '"') {
      if (!expect_quote || k + 1 < raw.size()) {
        return fail("matcher value contains unescaped double quote: " + std::string(raw_all));
      }
      expect_quote = false;
    } else {
      value += c;
    }
  }
  if (expect_quote) {
    return fail("matcher value contains unescaped double quote: " + std::string(raw_all));
  }
  m.value = std::move(value);
  if (m.type == MatchType::kRegexMatch || m.type == MatchType::kRegexNoMatch) {
    std::string err;
    if (!vigil::detail::compile_matcher(m, &err)) {
      return fail("error parsing regexp: " + err + ": `" + m.value + "`");
    }
  }
  return m;
}

// Alertmanager's ParseMatchers: "{a=\"x\", b=~\"y|z\"}" or "a=x,b=y".
std::optional<std::vector<LabelMatcher>> parse_matcher_list(std::string_view s,
                                                            std::string* error) {
  if (!s.empty() && s.front() == '{') s.remove_prefix(1);
  if (!s.empty() && s.back() == '}') s.remove_suffix(1);
  std::vector<std::string> tokens;
  std::string token;
  bool inside_quotes = false, escaped = false;
  for (char c : s) {
    if (c == ',') {
      if (!inside_quotes) {
        tokens.push_back(std::move(token));
        token.clear();
        continue;
      }
    } else if (c == '"') {
      if (!escaped) {
        inside_quotes = !inside_quotes;
      } else {
        escaped = false;
      }
    } else if (c == '\\') {
      escaped = !escaped;
    } else {
      escaped = false;
    }
    token += c;
  }
  {
    size_t b = 0, e = token.size();
    while (b < e && is_space(token[b])) ++b;
    while (e > b && is_space(token[e - 1])) --e;
    if (e > b) tokens.push_back(token.substr(b, e - b));
  }
  std::vector<LabelMatcher> out;
  for (const std::string& t : tokens) {
    auto m = parse_one(t, error);
    if (!m) return std::nullopt;
    out.push_back(std::move(*m));
  }
  return out;
}

// Where `text` (valid UTF-8) has a character YAML does not allow (yaml.v2 refuses the file:
// C0 controls but tab, LF and CR; DEL; C1 controls but NEL; U+FFFE, U+FFFF; a BOM past the
// start), or npos.
size_t first_control(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return i;
      ++i;
      continue;
    }
    const size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    uint32_t cp = c & (n == 2 ? 0x1Fu : n == 3 ? 0x0Fu : 0x07u);
    for (size_t k = 1; k < n && i + k < text.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3Fu);
    }
    if ((cp >= 0x80 && cp <= 0x9F && cp != 0x85) || cp == 0xFFFE || cp == 0xFFFF ||
        (cp == 0xFEFF && i != 0)) {
      return i;
    }
    i += n;
  }
  return std::string_view::npos;
}

struct Entry {
  std::string key;
  YAML::Node value;
  int line = 0;
};

// Fields Alertmanager 0.25 accepts that vigil reads but does not act on (a warning each).
const std::set<std::string> kIgnoredGlobal = {
    "smtp_auth_identity", "smtp_auth_secret",  "smtp_auth_password_file",
    "slack_api_url_file", "opsgenie_api_key",  "opsgenie_api_key_file",
    "opsgenie_api_url",   "wechat_api_url",    "wechat_api_secret",
    "wechat_api_corp_id", "victorops_api_key", "victorops_api_key_file",
    "victorops_api_url",  "telegram_api_url",  "webex_api_url"};
const std::set<std::string> kOtherReceiverTypes = {
    "opsgenie_configs", "wechat_configs",   "pushover_configs", "victorops_configs",
    "sns_configs",      "telegram_configs", "webex_configs",    "discord_configs"};

class Loader {
 public:
  explicit Loader(std::string name) : name_(std::move(name)) {}

  RoutingFileResult run(std::string_view text) {
    RoutingFileResult result;
    size_t bad = 0;
    if (!valid_utf8(text, bad)) {
      const int line = 1 + static_cast<int>(std::count(
                               text.begin(), text.begin() + static_cast<long>(bad), '\n'));
      error(line, "", "invalid UTF-8 (byte " + std::to_string(bad) + ")");
      return finish(std::move(result));
    }
    if (const size_t at = first_control(text); at != std::string_view::npos) {
      const int line = 1 + static_cast<int>(std::count(text.begin(),
                                                       text.begin() + static_cast<long>(at), '\n'));
      error(line, "", "yaml: control characters are not allowed");
      return finish(std::move(result));
    }
    if (text.size() > kMaxRoutingFileBytes) {
      error(0, "", "file larger than " + std::to_string(kMaxRoutingFileBytes >> 20) + " MiB");
      return finish(std::move(result));
    }
    YAML::Node root;
    int yaml_line = 0;
    std::string yaml_error;
    if (!yaml_support::load_yaml(text, root, yaml_line, yaml_error)) {
      error(yaml_line, "", yaml_error);
      return finish(std::move(result));
    }
    RoutingConfig cfg;
    cfg.source = name_;
    try {
      load_root(root, cfg);
    } catch (const YAML::Exception& e) {  // not expected: the loader checks types first
      error(e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "yaml: " + e.msg);
    }
    if (errors_.empty()) {
      // The remaining checks (receivers named, regexes, durations) are the Router's: its
      // messages name the file, line and route.
      try {
        Router router(cfg);
        Inhibitor inhibitor(cfg.inhibit_rules);
      } catch (const Error& e) {
        errors_.push_back(prefix_source(e.what()));
      }
    }
    if (errors_.empty()) result.config = std::move(cfg);
    return finish(std::move(result));
  }

 private:
  std::string name_;
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
  std::size_t nodes_ = 0;
  std::set<std::string> time_intervals_;

  // Router errors on a config with a source start with "name:line: "; others get the name.
  std::string prefix_source(const std::string& msg) const {
    if (msg.rfind(name_ + ":", 0) == 0) return msg;
    return name_ + ": " + msg;
  }

  RoutingFileResult finish(RoutingFileResult r) {
    if (!errors_.empty()) {
      r.config.reset();
      const size_t shown = std::min<size_t>(errors_.size(), 20);
      for (size_t i = 0; i < shown; ++i) {
        if (i) r.error += '\n';
        r.error += errors_[i];
      }
      if (errors_.size() > shown) {
        r.error += "\n(" + std::to_string(errors_.size() - shown) + " more errors)";
      }
    }
    r.warnings = std::move(warnings_);
    return r;
  }

  std::string prefix(int line, const std::string& where) const {
    std::string s = name_;
    if (line > 0) s += ":" + std::to_string(line);
    s += ": ";
    if (!where.empty()) s += where + ": ";
    return s;
  }
  void error(int line, const std::string& where, const std::string& msg) {
    if (errors_.size() < 1000) errors_.push_back(prefix(line, where) + msg);
  }
  void warning(int line, const std::string& where, const std::string& msg) {
    if (warnings_.size() < 1000) warnings_.push_back(prefix(line, where) + msg);
  }
  void ignored(const Entry& e, const std::string& where) {
    if (e.value.IsNull()) return;
    if ((e.value.IsSequence() || e.value.IsMap()) && e.value.size() == 0) return;
    warning(e.line, where, "field " + quoted(e.key) + " is accepted but ignored by vigil");
  }
  void unknown(const Entry& e, const std::string& where, const std::string& what) {
    error(e.line, where, "field " + e.key + " not found in type " + what);
  }

  bool budget(const std::string& where, int line) {
    if (++nodes_ > kMaxNodes) {
      if (nodes_ == kMaxNodes + 1) error(line, where, "document too large (excessive aliasing?)");
      return false;
    }
    return true;
  }

  // The entries of a mapping: duplicate keys are errors (as in yaml.v2 strict mode), merge keys
  // (<<) merged.
  std::vector<Entry> entries(const YAML::Node& map, const std::string& where) {
    std::vector<Entry> out;
    std::map<std::string, int> seen;
    std::vector<YAML::Node> merges;
    for (const auto& kv : map) {
      const YAML::Node k = kv.first;
      const YAML::Node v = kv.second;
      if (!budget(where, line_of(k))) break;
      if (!k.IsScalar() && !k.IsNull()) {
        error(line_of(k), where, "cannot use a " + go_tag(k) + " as a mapping key");
        continue;
      }
      const std::string key = k.IsNull() ? "" : k.Scalar();
      if (key == "<<" && k.Tag() == "?") {
        merges.push_back(v);
        continue;
      }
      auto [pos, fresh] = seen.emplace(key, line_of(k));
      if (!fresh) {
        error(line_of(k), where,
              "key " + quoted(key) + " already set in map (first at line " +
                  std::to_string(pos->second) + ")");
        continue;
      }
      out.push_back(Entry{key, v, line_of(k)});
    }
    for (const YAML::Node& m : merges) {
      std::vector<YAML::Node> maps;
      if (m.IsMap()) {
        maps.push_back(m);
      } else if (m.IsSequence()) {
        for (const YAML::Node& x : m) maps.push_back(x);
      }
      for (const YAML::Node& x : maps) {
        if (!x.IsMap()) {
          error(line_of(x), where, "map merge requires map or sequence of maps as the value");
          continue;
        }
        for (const auto& kv : x) {
          const YAML::Node k = kv.first;
          const YAML::Node v = kv.second;
          if (!budget(where, line_of(k))) break;
          if (!k.IsScalar()) continue;
          if (seen.emplace(k.Scalar(), line_of(k)).second) {
            out.push_back(Entry{k.Scalar(), v, line_of(k)});
          }
        }
      }
    }
    return out;
  }

  static std::string field_where(const std::string& where, const std::string& field) {
    return where.empty() ? field : where + "." + field;
  }

  // A Go string: any scalar (yaml.v2 is lenient), null is "".
  bool str(const Entry& e, const std::string& where, std::string& out) {
    if (e.value.IsNull()) {
      out.clear();
      return true;
    }
    if (e.value.IsScalar()) {
      out = e.value.Scalar();
      return true;
    }
    error(line_of(e.value), field_where(where, e.key),
          "cannot unmarshal " + go_tag(e.value) + " into string");
    return false;
  }

  // A Go bool as yaml.v2 reads it (YAML 1.1 booleans).
  bool boolean(const Entry& e, const std::string& where, bool& out) {
    if (e.value.IsNull()) {
      out = false;
      return true;
    }
    if (e.value.IsScalar() && e.value.Tag() == "?") {
      static const std::set<std::string> yes = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                                "True", "TRUE", "on",  "On",  "ON"};
      static const std::set<std::string> no = {"n",     "N",     "no",  "No",  "NO", "false",
                                               "False", "FALSE", "off", "Off", "OFF"};
      if (yes.count(e.value.Scalar())) {
        out = true;
        return true;
      }
      if (no.count(e.value.Scalar())) {
        out = false;
        return true;
      }
    }
    const std::string shown = e.value.IsScalar() ? " `" + e.value.Scalar() + "`" : "";
    error(line_of(e.value), field_where(where, e.key),
          "cannot unmarshal " + go_tag(e.value) + shown + " into bool");
    return false;
  }

  // A Prometheus duration (model.Duration): "30s", "1h30m", "0".
  bool duration(const Entry& e, const std::string& where,
                std::optional<std::chrono::milliseconds>& out) {
    if (e.value.IsNull()) return true;  // yaml.v2 leaves the pointer nil
    std::string s;
    if (!str(e, where, s)) return false;
    auto d = promql::parse_duration(s);
    if (!d) {
      error(line_of(e.value), field_where(where, e.key), d.error);
      return false;
    }
    if (*d > std::numeric_limits<int64_t>::max() / 1'000'000) {
      error(line_of(e.value), field_where(where, e.key), "duration out of range");
      return false;
    }
    out = std::chrono::milliseconds(*d);
    return true;
  }

  bool string_list(const Entry& e, const std::string& where, std::vector<std::string>& out) {
    if (e.value.IsNull()) return true;
    if (!e.value.IsSequence()) {
      const std::string shown = e.value.IsScalar() ? " `" + e.value.Scalar() + "`" : "";
      error(line_of(e.value), field_where(where, e.key),
            "cannot unmarshal " + go_tag(e.value) + shown + " into []string");
      return false;
    }
    bool ok = true;
    for (const YAML::Node& x : e.value) {
      if (!budget(where, line_of(x))) return false;
      if (x.IsNull()) {
        out.emplace_back();
      } else if (x.IsScalar()) {
        out.push_back(x.Scalar());
      } else {
        error(line_of(x), field_where(where, e.key),
              "cannot unmarshal " + go_tag(x) + " into string");
        ok = false;
      }
    }
    return ok;
  }

  bool string_map(const Entry& e, const std::string& where, std::vector<Entry>& out) {
    if (e.value.IsNull()) return true;
    if (!e.value.IsMap()) {
      error(line_of(e.value), field_where(where, e.key),
            "cannot unmarshal " + go_tag(e.value) + " into map[string]string");
      return false;
    }
    bool ok = true;
    for (Entry& x : entries(e.value, field_where(where, e.key))) {
      std::string v;
      if (!str(x, field_where(where, e.key), v)) {
        ok = false;
        continue;
      }
      x.value = YAML::Node(v);
      out.push_back(std::move(x));
    }
    return ok;
  }

  // `match` / `match_re` (the older map syntax) into matchers.
  bool match_map(const Entry& e, const std::string& where, MatchType type,
                 std::vector<LabelMatcher>& out) {
    std::vector<Entry> kvs;
    if (!string_map(e, where, kvs)) return false;
    bool ok = true;
    for (const Entry& kv : kvs) {
      if (!valid_label_name(kv.key)) {
        error(kv.line, where, "invalid label name " + quoted(kv.key));
        ok = false;
        continue;
      }
      LabelMatcher m{kv.key, type, kv.value.Scalar()};
      if (type == MatchType::kRegexMatch) {
        std::string err;
        if (!vigil::detail::compile_matcher(m, &err)) {
          error(kv.line, field_where(where, e.key), "error parsing regexp: " + err);
          ok = false;
          continue;
        }
      }
      out.push_back(std::move(m));
    }
    return ok;
  }

  // `matchers:` (a list of Alertmanager matcher strings, each possibly several).
  bool matcher_lines(const Entry& e, const std::string& where, std::vector<LabelMatcher>& out) {
    std::vector<std::string> lines;
    if (!string_list(e, where, lines)) return false;
    for (const std::string& l : lines) {
      std::string err;
      auto ms = parse_matcher_list(l, &err);
      if (!ms) {
        error(e.line, field_where(where, e.key), err);
        return false;
      }
      for (LabelMatcher& m : *ms) out.push_back(std::move(m));
    }
    return true;
  }

  bool label_names(const Entry& e, const std::string& where, std::vector<std::string>& out,
                   const char* what) {
    std::vector<std::string> names;
    if (!string_list(e, where, names)) return false;
    for (const std::string& n : names) {
      if (!valid_label_name(n)) {
        error(e.line, where, "invalid label name " + quoted(n) + " in " + what);
        return false;
      }
      out.push_back(n);
    }
    return true;
  }

  bool require_map(const YAML::Node& n, const std::string& where, const std::string& type) {
    if (n.IsMap()) return true;
    const std::string shown = n.IsScalar() ? " `" + n.Scalar() + "`" : "";
    error(line_of(n), where, "cannot unmarshal " + go_tag(n) + shown + " into " + type);
    return false;
  }

  // --------------------------------------------------------------------------------------------

  // Prometheus' common HTTPClientConfig, the part that maps onto HttpChannelOptions.
  void http_config(const YAML::Node& n, const std::string& where, HttpChannelOptions& out) {
    if (n.IsNull()) return;
    if (!require_map(n, where, "config.HTTPClientConfig")) return;
    bool basic = false, bearer = false, authz = false, oauth2 = false;
    std::string authz_type, authz_credentials;
    for (const Entry& e : entries(n, where)) {
      if (e.key == "bearer_token") {
        str(e, where, out.bearer_token);
        bearer = bearer || !out.bearer_token.empty();
      } else if (e.key == "bearer_token_file") {
        if (!e.value.IsNull()) bearer = true;
        ignored(e, where);
      } else if (e.key == "basic_auth") {
        if (e.value.IsNull()) continue;
        const std::string w = field_where(where, "basic_auth");
        if (!require_map(e.value, w, "config.BasicAuth")) continue;
        basic = true;
        bool password_file = false;
        for (const Entry& b : entries(e.value, w)) {
          if (b.key == "username") {
            str(b, w, out.basic_auth_username);
          } else if (b.key == "password") {
            str(b, w, out.basic_auth_password);
          } else if (b.key == "password_file") {
            std::string f;
            str(b, w, f);
            password_file = !f.empty();
            ignored(b, w);
          } else {
            unknown(b, w, "config.BasicAuth");
          }
        }
        if (password_file && !out.basic_auth_password.empty()) {
          error(line_of(e.value), w,
                "at most one of basic_auth password & password_file must be configured");
        }
      } else if (e.key == "authorization") {
        if (e.value.IsNull()) continue;
        const std::string w = field_where(where, "authorization");
        if (!require_map(e.value, w, "config.Authorization")) continue;
        authz = true;
        for (const Entry& a : entries(e.value, w)) {
          if (a.key == "type") {
            str(a, w, authz_type);
          } else if (a.key == "credentials") {
            str(a, w, authz_credentials);
          } else if (a.key == "credentials_file") {
            ignored(a, w);
          } else {
            unknown(a, w, "config.Authorization");
          }
        }
      } else if (e.key == "tls_config") {
        if (e.value.IsNull()) continue;
        const std::string w = field_where(where, "tls_config");
        if (!require_map(e.value, w, "config.TLSConfig")) continue;
        tls_config(e.value, w, out.ca_file, out.verify_tls);
      } else if (e.key == "oauth2") {
        oauth2 = !e.value.IsNull();
        ignored(e, where);
      } else if (e.key == "proxy_url" || e.key == "proxy_connect_header" ||
                 e.key == "follow_redirects" || e.key == "enable_http2" || e.key == "no_proxy" ||
                 e.key == "proxy_from_environment") {
        ignored(e, where);
      } else {
        unknown(e, where, "config.HTTPClientConfig");
      }
    }
    // HTTPClientConfig.Validate
    if (bearer && basic) {
      error(line_of(n), where,
            "at most one of basic_auth, oauth2, bearer_token & "
            "bearer_token_file must be configured");
    }
    if (authz) {
      if (bearer) {
        error(line_of(n), where,
              "authorization is not compatible with bearer_token & bearer_token_file");
      }
      if (basic || oauth2) {
        error(line_of(n), where,
              "at most one of basic_auth, oauth2 & authorization must be configured");
      }
      std::string lower = authz_type;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "basic") {
        error(line_of(n), where,
              "authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
      }
      if (authz_type.empty() || authz_type == "Bearer") {
        out.bearer_token = authz_credentials;
      } else {
        out.headers.emplace_back("Authorization", authz_type + " " + authz_credentials);
      }
    }
    if (basic && oauth2) {
      error(line_of(n), where,
            "at most one of basic_auth, oauth2 & authorization must be configured");
    }
  }

  void tls_config(const YAML::Node& n, const std::string& w, std::string& ca_file,
                  bool& verify_tls) {
    for (const Entry& t : entries(n, w)) {
      if (t.key == "ca_file") {
        str(t, w, ca_file);
      } else if (t.key == "insecure_skip_verify") {
        bool skip = false;
        if (boolean(t, w, skip)) verify_tls = !skip;
      } else if (t.key == "cert_file" || t.key == "key_file" || t.key == "server_name" ||
                 t.key == "min_version" || t.key == "max_version" || t.key == "ca" ||
                 t.key == "cert" || t.key == "key") {
        ignored(t, w);
      } else {
        unknown(t, w, "config.TLSConfig");
      }
    }
  }

  struct Globals {
    RoutingGlobals g;
    std::optional<HttpChannelOptions> http;
    bool slack_url_file = false;
  };

  void load_global(const YAML::Node& n, Globals& out) {
    if (n.IsNull()) return;
    const std::string w = "global";
    if (!require_map(n, w, "config.GlobalConfig")) return;
    for (const Entry& e : entries(n, w)) {
      RoutingGlobals& g = out.g;
      if (e.key == "resolve_timeout") {
        std::optional<std::chrono::milliseconds> d;
        if (duration(e, w, d) && d) g.resolve_timeout = *d;
      } else if (e.key == "smtp_smarthost") {
        if (str(e, w, g.smtp_smarthost)) check_hostport(e, w, g.smtp_smarthost);
      } else if (e.key == "smtp_from") {
        str(e, w, g.smtp_from);
      } else if (e.key == "smtp_hello") {
        str(e, w, g.smtp_hello);
      } else if (e.key == "smtp_auth_username") {
        str(e, w, g.smtp_auth_username);
      } else if (e.key == "smtp_auth_password") {
        str(e, w, g.smtp_auth_password);
      } else if (e.key == "smtp_require_tls") {
        boolean(e, w, g.smtp_require_tls);
      } else if (e.key == "slack_api_url") {
        if (str(e, w, g.slack_api_url) && !g.slack_api_url.empty()) {
          check_url(e, w, g.slack_api_url);
        }
      } else if (e.key == "pagerduty_url") {
        if (str(e, w, g.pagerduty_url)) check_url(e, w, g.pagerduty_url);
      } else if (e.key == "http_config") {
        HttpChannelOptions h;
        http_config(e.value, field_where(w, "http_config"), h);
        out.http = h;
      } else if (kIgnoredGlobal.count(e.key)) {
        if (e.key == "slack_api_url_file" && !e.value.IsNull()) out.slack_url_file = true;
        ignored(e, w);
      } else {
        unknown(e, w, "config.GlobalConfig");
      }
    }
    if (!out.g.slack_api_url.empty() && out.slack_url_file) {
      error(line_of(n), w, "at most one of slack_api_url & slack_api_url_file must be configured");
    }
  }

  // config.URL: an absolute http(s) URL with a host.
  bool check_url(const Entry& e, const std::string& where, const std::string& url) {
    const std::string w = field_where(where, e.key);
    for (char ch : url) {
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
        error(line_of(e.value), w, "parse URL: invalid control character in URL");
        return false;
      }
    }
    const size_t colon = url.find("://");
    std::string scheme = colon == std::string::npos ? "" : url.substr(0, colon);
    for (char& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (scheme != "http" && scheme != "https") {
      error(line_of(e.value), w, "unsupported scheme " + quoted(scheme) + " for URL");
      return false;
    }
    const std::string rest = url.substr(colon + 3);
    if (rest.empty() || rest[0] == '/' || rest[0] == '?' || rest[0] == '#') {
      error(line_of(e.value), w, "missing host for URL");
      return false;
    }
    const std::string host = rest.substr(0, rest.find_first_of("/?#"));
    if (host.find_first_of(" \"<>\\^`{|}") != std::string::npos) {
      error(line_of(e.value), w, "parse URL: invalid character in host name");
      return false;
    }
    return true;
  }

  // config.HostPort: "host:port".
  bool check_hostport(const Entry& e, const std::string& where, const std::string& hp) {
    if (hp.empty()) return true;
    const std::string w = field_where(where, e.key);
    const size_t colon = hp.rfind(':');
    if (colon == std::string::npos) {
      error(line_of(e.value), w, "address " + hp + ": missing port in address");
      return false;
    }
    if (colon + 1 == hp.size()) {
      error(line_of(e.value), w, "address " + quoted(hp) + ": port cannot be empty");
      return false;
    }
    return true;
  }

  void load_webhook(const YAML::Node& n, const std::string& w, const Globals& gl,
                    ReceiverConfig& r) {
    if (!require_map(n, w, "config.WebhookConfig")) return;
    WebhookConfig c;
    bool has_http = false;
    int url_line = 0;
    for (const Entry& e : entries(n, w)) {
      if (e.key == "url") {
        if (str(e, w, c.url) && !c.url.empty()) check_url(e, w, c.url);
        url_line = e.line;
      } else if (e.key == "send_resolved") {
        boolean(e, w, c.send_resolved);
      } else if (e.key == "max_alerts") {
        std::string s;
        if (!str(e, w, s)) continue;
        char* end = nullptr;
        errno = 0;
        unsigned long long v = std::strtoull(s.c_str(), &end, 10);
        if (go_tag(e.value) == "!!float") {  // yaml.v2 truncates a float into an integer
          const double d = std::strtod(s.c_str(), &end);
          if (d >= 0 && d < 1.8e19) v = static_cast<unsigned long long>(d);
        }
        if (s.empty() || s[0] == '-' || errno != 0 || end != s.c_str() + s.size()) {
          error(line_of(e.value), field_where(w, "max_alerts"),
                "cannot unmarshal " + go_tag(e.value) + " `" + s + "` into uint64");
        } else {
          c.max_alerts = static_cast<size_t>(v);
        }
      } else if (e.key == "http_config") {
        has_http = !e.value.IsNull();
        http_config(e.value, field_where(w, "http_config"), c.http);
      } else {
        unknown(e, w, "config.WebhookConfig");
      }
    }
    (void)url_line;
    if (c.url.empty()) error(line_of(n), w, "missing URL");
    if (!has_http && gl.http) c.http = *gl.http;
    r.webhook_configs.push_back(std::move(c));
  }

  void load_slack(const YAML::Node& n, const std::string& w, const Globals& gl, ReceiverConfig& r) {
    if (!require_map(n, w, "config.SlackConfig")) return;
    SlackConfig c;
    bool has_http = false, url_file = false, url_set = false;
    for (const Entry& e : entries(n, w)) {
      const std::string& k = e.key;
      if (k == "api_url") {
        if (str(e, w, c.api_url) && !c.api_url.empty()) check_url(e, w, c.api_url);
        url_set = !e.value.IsNull();
      } else if (k == "api_url_file") {
        url_file = !e.value.IsNull();
        ignored(e, w);
      } else if (k == "channel") {
        str(e, w, c.channel);
      } else if (k == "username") {
        str(e, w, c.username);
      } else if (k == "icon_emoji") {
        str(e, w, c.icon_emoji);
      } else if (k == "icon_url") {
        str(e, w, c.icon_url);
      } else if (k == "title") {
        str(e, w, c.title);
      } else if (k == "title_link") {
        str(e, w, c.title_link);
      } else if (k == "text") {
        str(e, w, c.text);
      } else if (k == "color") {
        str(e, w, c.color);
      } else if (k == "footer") {
        str(e, w, c.footer);
      } else if (k == "send_resolved") {
        boolean(e, w, c.send_resolved);
      } else if (k == "http_config") {
        has_http = !e.value.IsNull();
        http_config(e.value, field_where(w, "http_config"), c.http);
      } else if (k == "pretext" || k == "fields" || k == "short_fields" || k == "fallback" ||
                 k == "callback_id" || k == "image_url" || k == "thumb_url" || k == "link_names" ||
                 k == "mrkdwn_in" || k == "actions") {
        ignored(e, w);
      } else {
        unknown(e, w, "config.SlackConfig");
      }
    }
    if (url_set && url_file) {
      error(line_of(n), w, "at most one of api_url & api_url_file must be configured");
    }
    if (!url_set && !url_file) {
      if (gl.g.slack_api_url.empty() && !gl.slack_url_file) {
        error(line_of(n), w, "no global Slack API URL set either inline or in a file");
      }
      c.api_url = gl.g.slack_api_url;
    }
    if (!has_http && gl.http) c.http = *gl.http;
    r.slack_configs.push_back(std::move(c));
  }

  void load_email(const YAML::Node& n, const std::string& w, const Globals& gl, ReceiverConfig& r) {
    if (!require_map(n, w, "config.EmailConfig")) return;
    EmailConfig c;
    c.hello.clear();
    std::string to;
    bool require_tls_set = false, password_file = false;
    for (const Entry& e : entries(n, w)) {
      const std::string& k = e.key;
      if (k == "to") {
        str(e, w, to);
      } else if (k == "from") {
        str(e, w, c.from);
      } else if (k == "hello") {
        str(e, w, c.hello);
      } else if (k == "smarthost") {
        if (str(e, w, c.smarthost)) check_hostport(e, w, c.smarthost);
      } else if (k == "auth_username") {
        str(e, w, c.auth_username);
      } else if (k == "auth_password") {
        str(e, w, c.auth_password);
      } else if (k == "auth_password_file") {
        password_file = !e.value.IsNull();
        ignored(e, w);
      } else if (k == "auth_secret" || k == "auth_identity") {
        ignored(e, w);
      } else if (k == "require_tls") {
        require_tls_set = !e.value.IsNull();
        boolean(e, w, c.require_tls);
      } else if (k == "send_resolved") {
        boolean(e, w, c.send_resolved);
      } else if (k == "html") {
        str(e, w, c.html);
      } else if (k == "text") {
        str(e, w, c.text);
      } else if (k == "headers") {
        std::vector<Entry> hs;
        string_map(e, w, hs);
        std::set<std::string> seen;
        for (const Entry& h : hs) {
          // textproto.CanonicalMIMEHeaderKey
          std::string key = h.key;
          bool upper = true;
          for (char& ch : key) {
            ch = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(ch))
                                         : std::tolower(static_cast<unsigned char>(ch)));
            upper = ch == '-';
          }
          if (!seen.insert(key).second) {
            error(h.line, w, "duplicate header " + quoted(key) + " in email config");
            continue;
          }
          if (key == "Subject") {
            c.subject = h.value.Scalar();
          } else {
            c.headers.emplace_back(key, h.value.Scalar());
          }
        }
      } else if (k == "tls_config") {
        if (e.value.IsNull()) continue;
        const std::string tw = field_where(w, "tls_config");
        if (require_map(e.value, tw, "config.TLSConfig")) {
          tls_config(e.value, tw, c.ca_file, c.verify_tls);
        }
      } else {
        unknown(e, w, "config.EmailConfig");
      }
    }
    if (to.empty()) error(line_of(n), w, "missing to address in email config");
    // Alertmanager's `to` is one string of comma-separated addresses.
    size_t start = 0;
    while (start <= to.size() && !to.empty()) {
      size_t comma = to.find(',', start);
      if (comma == std::string::npos) comma = to.size();
      std::string a = to.substr(start, comma - start);
      while (!a.empty() && is_space(a.front())) a.erase(a.begin());
      while (!a.empty() && is_space(a.back())) a.pop_back();
      if (!a.empty()) c.to.push_back(a);
      start = comma + 1;
    }
    if (c.smarthost.empty()) {
      if (gl.g.smtp_smarthost.empty()) error(line_of(n), w, "no global SMTP smarthost set");
      c.smarthost = gl.g.smtp_smarthost;
    }
    if (c.from.empty()) {
      if (gl.g.smtp_from.empty()) error(line_of(n), w, "no global SMTP from set");
      c.from = gl.g.smtp_from;
    }
    if (c.hello.empty()) c.hello = gl.g.smtp_hello;
    if (c.auth_username.empty()) c.auth_username = gl.g.smtp_auth_username;
    if (c.auth_password.empty() && !password_file) c.auth_password = gl.g.smtp_auth_password;
    if (!require_tls_set) c.require_tls = gl.g.smtp_require_tls;
    if (c.smarthost.size() > 4 && c.smarthost.compare(c.smarthost.size() - 4, 4, ":465") == 0) {
      c.implicit_tls = true;
    }
    r.email_configs.push_back(std::move(c));
  }

  void load_pagerduty(const YAML::Node& n, const std::string& w, const Globals& gl,
                      ReceiverConfig& r) {
    if (!require_map(n, w, "config.PagerdutyConfig")) return;
    PagerDutyConfig c;
    c.url.clear();
    bool has_http = false, key_file = false, service_key = false;
    for (const Entry& e : entries(n, w)) {
      const std::string& k = e.key;
      if (k == "routing_key") {
        str(e, w, c.routing_key);
      } else if (k == "url") {
        if (str(e, w, c.url) && !c.url.empty()) check_url(e, w, c.url);
      } else if (k == "client") {
        str(e, w, c.client);
      } else if (k == "client_url") {
        str(e, w, c.client_url);
      } else if (k == "description") {
        str(e, w, c.description);
      } else if (k == "severity") {
        str(e, w, c.severity);
      } else if (k == "component") {
        str(e, w, c.component);
      } else if (k == "group") {
        str(e, w, c.group);
      } else if (k == "class") {
        str(e, w, c.class_name);
      } else if (k == "details") {
        std::vector<Entry> ds;
        string_map(e, w, ds);
        for (const Entry& d : ds) c.details.emplace_back(d.key, d.value.Scalar());
      } else if (k == "send_resolved") {
        boolean(e, w, c.send_resolved);
      } else if (k == "http_config") {
        has_http = !e.value.IsNull();
        http_config(e.value, field_where(w, "http_config"), c.http);
      } else if (k == "service_key") {
        std::string s;
        str(e, w, s);
        service_key = service_key || !s.empty();
        if (!s.empty()) {
          warning(e.line, w,
                  "service_key (PagerDuty Events API v1) is not supported by vigil: use "
                  "routing_key");
        }
      } else if (k == "routing_key_file" || k == "service_key_file") {
        key_file = key_file || !e.value.IsNull();
        ignored(e, w);
      } else if (k == "images" || k == "links" || k == "source") {
        ignored(e, w);
      } else {
        unknown(e, w, "config.PagerdutyConfig");
      }
    }
    if (c.routing_key.empty() && !service_key && !key_file) {
      error(line_of(n), w, "missing service or routing key in PagerDuty config");
    }
    if (c.url.empty()) c.url = gl.g.pagerduty_url;
    if (!has_http && gl.http) c.http = *gl.http;
    std::sort(c.details.begin(), c.details.end());
    r.pagerduty_configs.push_back(std::move(c));
  }

  template <class Fn>
  void each_config(const Entry& e, const std::string& where, Fn fn) {
    if (e.value.IsNull()) return;
    if (!e.value.IsSequence()) {
      error(line_of(e.value), field_where(where, e.key),
            "cannot unmarshal " + go_tag(e.value) + " into a list of configs");
      return;
    }
    size_t i = 0;
    for (const YAML::Node& c : e.value) {
      if (!budget(where, line_of(c))) return;
      fn(c, where + "." + e.key + "[" + std::to_string(i++) + "]");
    }
  }

  void load_receiver(const YAML::Node& n, size_t index, const Globals& gl, RoutingConfig& cfg) {
    std::string where = "receivers[" + std::to_string(index) + "]";
    if (!require_map(n, where, "config.Receiver")) return;
    ReceiverConfig r;
    r.line = line_of(n);
    const std::vector<Entry> fields = entries(n, where);
    for (const Entry& e : fields) {
      if (e.key == "name") str(e, where, r.name);
    }
    if (!r.name.empty()) where = "receiver " + quoted(r.name);
    for (const Entry& e : fields) {
      const std::string& k = e.key;
      if (k == "name") continue;
      if (k == "webhook_configs") {
        each_config(e, where,
                    [&](const YAML::Node& c, const std::string& w) { load_webhook(c, w, gl, r); });
      } else if (k == "slack_configs") {
        each_config(e, where,
                    [&](const YAML::Node& c, const std::string& w) { load_slack(c, w, gl, r); });
      } else if (k == "email_configs") {
        each_config(e, where,
                    [&](const YAML::Node& c, const std::string& w) { load_email(c, w, gl, r); });
      } else if (k == "pagerduty_configs") {
        each_config(e, where, [&](const YAML::Node& c, const std::string& w) {
          load_pagerduty(c, w, gl, r);
        });
      } else if (kOtherReceiverTypes.count(k)) {
        if (!e.value.IsNull() && !(e.value.IsSequence() && e.value.size() == 0)) {
          warning(e.line, where,
                  k + " are not supported by vigil: this receiver does not deliver to them");
        }
      } else {
        unknown(e, where, "config.Receiver");
      }
    }
    if (r.name.empty()) {
      error(r.line, where, "missing name in receiver");
      return;
    }
    cfg.receivers.push_back(std::move(r));
  }

  void load_route(const YAML::Node& n, const std::string& where, Route& out, int depth) {
    out.line = line_of(n);
    if (depth > kMaxRouteDepth) {
      error(out.line, where,
            "routes nested deeper than " + std::to_string(kMaxRouteDepth) + " levels");
      return;
    }
    if (!require_map(n, where, "config.Route")) return;
    for (const Entry& e : entries(n, where)) {
      const std::string& k = e.key;
      if (k == "receiver") {
        str(e, where, out.receiver);
      } else if (k == "group_by") {
        std::vector<std::string> gb;
        if (!string_list(e, where, gb)) continue;
        if (e.value.IsNull()) continue;
        bool all = false;
        std::vector<std::string> names;
        std::set<std::string> seen;
        bool ok = true;
        for (const std::string& l : gb) {
          if (l == "...") {
            all = true;
            continue;
          }
          if (!valid_label_name(l)) {
            error(e.line, where, "invalid label name " + quoted(l) + " in group_by list");
            ok = false;
            break;
          }
          if (!seen.insert(l).second) {
            error(e.line, where, "duplicated label " + quoted(l) + " in group_by");
            ok = false;
            break;
          }
          names.push_back(l);
        }
        if (!ok) continue;
        if (all && !names.empty()) {
          error(e.line, where,
                "cannot have wildcard group_by (`...`) and other other labels at the same time");
          continue;
        }
        // As Alertmanager 0.25: `group_by: []` (no names, no `...`) leaves the parent's.
        if (all) {
          out.group_by = std::vector<std::string>{"..."};
        } else if (!names.empty()) {
          out.group_by = names;
        }
      } else if (k == "match") {
        match_map(e, where, MatchType::kEqual, out.matchers);
      } else if (k == "match_re") {
        match_map(e, where, MatchType::kRegexMatch, out.matchers);
      } else if (k == "matchers") {
        matcher_lines(e, where, out.matchers);
      } else if (k == "continue") {
        boolean(e, where, out.continue_matching);
      } else if (k == "group_wait") {
        duration(e, where, out.group_wait);
      } else if (k == "group_interval") {
        if (duration(e, where, out.group_interval) && out.group_interval &&
            out.group_interval->count() == 0) {
          error(e.line, where, "group_interval cannot be zero");
        }
      } else if (k == "repeat_interval") {
        if (duration(e, where, out.repeat_interval) && out.repeat_interval &&
            out.repeat_interval->count() == 0) {
          error(e.line, where, "repeat_interval cannot be zero");
        }
      } else if (k == "mute_time_intervals" || k == "active_time_intervals") {
        std::vector<std::string> names;
        if (!string_list(e, where, names)) continue;
        if (depth == 0 && !names.empty()) {
          error(e.line, where,
                std::string("root route must not have any ") +
                    (k == "mute_time_intervals" ? "mute" : "active") + " time intervals");
          continue;
        }
        for (const std::string& t : names) {
          if (!time_intervals_.count(t)) {
            error(e.line, where, "undefined time interval " + quoted(t) + " used in route");
          }
        }
        ignored(e, where);
      } else if (k == "routes") {
        if (e.value.IsNull()) continue;
        if (!e.value.IsSequence()) {
          error(line_of(e.value), field_where(where, "routes"),
                "cannot unmarshal " + go_tag(e.value) + " into []*config.Route");
          continue;
        }
        size_t i = 0;
        for (const YAML::Node& c : e.value) {
          if (!budget(where, line_of(c))) return;
          Route child;
          load_route(c, where + ".routes[" + std::to_string(i++) + "]", child, depth + 1);
          out.routes.push_back(std::move(child));
        }
      } else {
        unknown(e, where, "config.Route");
      }
    }
  }

  void load_inhibit(const YAML::Node& n, size_t index, RoutingConfig& cfg) {
    const std::string where = "inhibit_rules[" + std::to_string(index) + "]";
    if (!require_map(n, where, "config.InhibitRule")) return;
    InhibitRule r;
    r.line = line_of(n);
    for (const Entry& e : entries(n, where)) {
      const std::string& k = e.key;
      if (k == "source_match") {
        match_map(e, where, MatchType::kEqual, r.source_matchers);
      } else if (k == "source_match_re") {
        match_map(e, where, MatchType::kRegexMatch, r.source_matchers);
      } else if (k == "source_matchers") {
        matcher_lines(e, where, r.source_matchers);
      } else if (k == "target_match") {
        match_map(e, where, MatchType::kEqual, r.target_matchers);
      } else if (k == "target_match_re") {
        match_map(e, where, MatchType::kRegexMatch, r.target_matchers);
      } else if (k == "target_matchers") {
        matcher_lines(e, where, r.target_matchers);
      } else if (k == "equal") {
        label_names(e, where, r.equal, "equal list");
      } else {
        unknown(e, where, "config.InhibitRule");
      }
    }
    cfg.inhibit_rules.push_back(std::move(r));
  }

  void time_interval_names(const Entry& e) {
    if (e.value.IsNull()) return;
    if (!e.value.IsSequence()) {
      error(line_of(e.value), e.key,
            "cannot unmarshal " + go_tag(e.value) + " into a list of time intervals");
      return;
    }
    for (const YAML::Node& t : e.value) {
      if (!budget(e.key, line_of(t))) return;
      if (!t.IsMap()) continue;
      for (const Entry& f : entries(t, e.key)) {
        std::string name;
        if (f.key == "name" && str(f, e.key, name)) {
          if (!time_intervals_.insert(name).second) {
            error(f.line, e.key, "time interval " + quoted(name) + " is not unique");
          }
        }
      }
    }
  }

  void load_root(const YAML::Node& root, RoutingConfig& cfg) {
    if (root.IsNull()) {
      error(0, "", "no route provided in config");
      return;
    }
    if (!require_map(root, "", "config.Config (a mapping with route:, receivers:...)")) return;
    const std::vector<Entry> fields = entries(root, "");
    // Time intervals and globals first: routes and receivers refer to them.
    Globals gl;
    const Entry* route = nullptr;
    const Entry* receivers = nullptr;
    const Entry* inhibit = nullptr;
    for (const Entry& e : fields) {
      if (e.key == "global") {
        load_global(e.value, gl);
      } else if (e.key == "time_intervals" || e.key == "mute_time_intervals") {
        time_interval_names(e);
        ignored(e, "");
      } else if (e.key == "templates") {
        std::vector<std::string> t;
        string_list(e, "", t);
        ignored(e, "");
      } else if (e.key == "route") {
        route = &e;
      } else if (e.key == "receivers") {
        receivers = &e;
      } else if (e.key == "inhibit_rules") {
        inhibit = &e;
      } else {
        unknown(e, "", "config.plain");
      }
    }
    cfg.global = gl.g;
    if (receivers && !receivers->value.IsNull()) {
      if (!receivers->value.IsSequence()) {
        error(line_of(receivers->value), "receivers",
              "cannot unmarshal " + go_tag(receivers->value) + " into []*config.Receiver");
      } else {
        size_t i = 0;
        std::map<std::string, int> names;
        for (const YAML::Node& r : receivers->value) {
          if (!budget("receivers", line_of(r))) break;
          const size_t before = cfg.receivers.size();
          load_receiver(r, i++, gl, cfg);
          if (cfg.receivers.size() > before) {
            const ReceiverConfig& rc = cfg.receivers.back();
            auto [it, fresh] = names.emplace(rc.name, rc.line);
            if (!fresh) {
              error(rc.line, "receiver " + quoted(rc.name),
                    "notification config name " + quoted(rc.name) +
                        " is not unique (first at line " + std::to_string(it->second) + ")");
            }
          }
        }
      }
    }
    if (inhibit && !inhibit->value.IsNull()) {
      if (!inhibit->value.IsSequence()) {
        error(line_of(inhibit->value), "inhibit_rules",
              "cannot unmarshal " + go_tag(inhibit->value) + " into []*config.InhibitRule");
      } else {
        size_t i = 0;
        for (const YAML::Node& r : inhibit->value) {
          if (!budget("inhibit_rules", line_of(r))) break;
          if (r.IsNull()) {  // Alertmanager skips an empty rule
            ++i;
            continue;
          }
          load_inhibit(r, i++, cfg);
        }
      }
    }
    if (!route || route->value.IsNull()) {
      error(route ? route->line : 0, "", "no routes provided");
      return;
    }
    load_route(route->value, "route", cfg.route, 0);
    if (!errors_.empty()) return;
    if (cfg.route.receiver.empty()) {
      error(cfg.route.line, "route", "root route must specify a default receiver");
    }
    if (!cfg.route.matchers.empty()) {
      error(cfg.route.line, "route", "root route must not have any matchers");
    }
    if (cfg.route.continue_matching) {
      error(cfg.route.line, "route", "cannot have continue in root route");
    }
  }
};

}  // namespace

std::optional<LabelMatcher> parse_matcher(std::string_view text, std::string* error) {
  return parse_one(text, error);
}

std::optional<std::vector<LabelMatcher>> parse_matchers(std::string_view text, std::string* error) {
  return parse_matcher_list(text, error);
}

RoutingFileResult parse_routing_config(std::string_view yaml, std::string_view name) {
  Loader loader{std::string(name)};
  return loader.run(yaml);
}

RoutingFileResult load_routing_file(const std::string& path) {
  RoutingFileResult r;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    r.error = path + ": cannot open: " + std::string(std::strerror(errno));
    return r;
  }
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxRoutingFileBytes) {
      r.error = path + ": file larger than " + std::to_string(kMaxRoutingFileBytes >> 20) + " MiB";
      return r;
    }
  }
  if (in.bad()) {
    r.error = path + ": read error";
    return r;
  }
  return parse_routing_config(text, path);
}

}  // namespace vigil::alerting
