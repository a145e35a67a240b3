// Go text/template for alert labels and annotations (see template.h). Written from the
// documented behaviour of Go's text/template and fmt and Prometheus' template/template.go.
#include "alerting/template.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "alerting/promql/parser.h"

namespace vigil::alerting::tmpl {

// ============================================================================================
// Go number formatting
// ============================================================================================
namespace {

// The shortest round-trip decimal digits of |v| (finite, non-zero) and the decimal point
// position: v = 0.d1d2d3... * 10^dp.
void shortest_digits(double v, std::string& digits, int& dp) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::scientific);
  std::string_view s(buf, static_cast<std::size_t>(r.ptr - buf));
  const std::size_t e = s.find('e');
  digits.clear();
  for (char c : s.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int exp = 0;
  std::from_chars(s.data() + e + 1 + (s[e + 1] == '+' ? 1 : 0), s.data() + s.size(), exp);
  dp = exp + 1;
}

std::string go_exponent(int exp) {
  std::string out = exp < 0 ? "e-" : "e+";
  const int a = exp < 0 ? -exp : exp;
  if (a < 10) out.push_back('0');
  out += std::to_string(a);
  return out;
}

std::string inf_nan(double v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "+Inf" : "-Inf";
}

// %v / %g without precision: strconv.FormatFloat(v, 'g', -1, 64).
std::string shortest_g(double v, bool upper = false) {
  if (std::isnan(v) || std::isinf(v)) return inf_nan(v);
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  std::string digits;
  int dp = 0;
  shortest_digits(v, digits, dp);
  std::string out = v < 0 ? "-" : "";
  const int exp = dp - 1;
  if (exp < -4 || exp >= 6) {  // strconv uses eprec 6 for the shortest form
    out.push_back(digits[0]);
    if (digits.size() > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    std::string e = go_exponent(exp);
    if (upper) e[0] = 'E';
    return out + e;
  }
  const int nd = static_cast<int>(digits.size());
  if (dp <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-dp), '0');
    out += digits;
  } else if (dp >= nd) {
    out += digits;
    out.append(static_cast<std::size_t>(dp - nd), '0');
  } else {
    out.append(digits, 0, static_cast<std::size_t>(dp));
    out.push_back('.');
    out.append(digits, static_cast<std::size_t>(dp));
  }
  return out;
}

// One parsed printf directive.
struct Spec {
  bool minus = false, plus = false, sharp = false, zero = false, space = false;
  int width = -1;
  int prec = -1;
  char verb = 0;
  bool sharp_v = false;  // %#v: Go syntax
};

std::string pad(std::string s, const Spec& sp, bool numeric) {
  if (sp.width < 0 || static_cast<int>(s.size()) >= sp.width) return s;
  const std::size_t n = static_cast<std::size_t>(sp.width) - s.size();
  if (sp.minus) return s + std::string(n, ' ');
  if (sp.zero && numeric) {
    std::size_t at = (!s.empty() && (s[0] == '-' || s[0] == '+' || s[0] == ' ')) ? 1 : 0;
    s.insert(at, n, '0');
    return s;
  }
  return std::string(n, ' ') + s;
}

// A float with a float verb (e E f F g G v), Go semantics.
std::string fmt_float(double v, const Spec& sp) {
  std::string s;
  char verb = sp.verb == 'v' ? 'g' : sp.verb;
  if (std::isnan(v) || std::isinf(v)) {
    s = std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf");
    if (std::isnan(v) && sp.plus) s = "+NaN";
    if (std::isnan(v) && sp.space && !sp.plus) s = " NaN";
    if (v > 0 && std::isinf(v) && !sp.plus) s = sp.space ? " Inf" : "+Inf";
    Spec nz = sp;
    nz.zero = false;
    return pad(s, nz, false);
  }
  if ((verb == 'g' || verb == 'G') && sp.prec < 0 && !sp.sharp) {
    s = shortest_g(v, verb == 'G');
  } else {
    char buf[512];
    const int prec = sp.prec < 0 ? 6 : std::min(sp.prec, 300);
    std::string f = "%";
    if (sp.sharp) f += '#';
    f += "." + std::to_string(prec);
    f += verb == 'F' ? 'f' : verb;
    const int n = std::snprintf(buf, sizeof buf, f.c_str(), v);
    if (n < 0 || n >= static_cast<int>(sizeof buf)) {
      std::vector<char> big(static_cast<std::size_t>(n < 0 ? 1 : n + 1));
      if (n > 0) std::snprintf(big.data(), big.size(), f.c_str(), v);
      s.assign(big.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
    } else {
      s.assign(buf, static_cast<std::size_t>(n));
    }
  }
  if (s[0] != '-') {
    if (sp.plus) {
      s.insert(0, 1, '+');
    } else if (sp.space) {
      s.insert(0, 1, ' ');
    }
  }
  return pad(s, sp, true);
}

}  // namespace

std::string format_float_v(double v) { return shortest_g(v); }

// ============================================================================================
// Values
// ============================================================================================
namespace {

struct Value;
using StrMap = std::map<std::string, std::string>;
using AnyMap = std::map<std::string, Value>;

enum class Kind : uint8_t {
  kNil,
  kBool,
  kInt,
  kFloat,
  kString,
  kStrMap,
  kAnyMap,
  kData,
  kTime,
  kList,    // a Go slice (tag: its type)
  kStruct,  // a Go struct (tag: its type)
};

// The Go type of a map, list, struct, string or time value, for methods and type names.
enum class Tag : uint8_t {
  kPlain,       // map[string]string, string, []interface {}, toTime's time.Time (no methods)
  kKV,          // template.KV (map[string]string with methods)
  kAlerts,      // template.Alerts
  kAlertSlice,  // []template.Alert (Alerts.Firing / .Resolved)
  kPairs,       // template.Pairs
  kStrings,     // []string
  kHTML,        // template.HTML (safeHtml)
  kData,        // *template.Data
  kAlert,       // template.Alert
  kPair,        // template.Pair
  kGoTime,      // time.Time with methods (i: Unix seconds, nsec: nanoseconds)
  kUint8,       // a byte (index of a string)
};

struct Struct;

struct Value {
  Kind kind = Kind::kNil;
  Tag tag = Tag::kPlain;
  bool b = false;
  int32_t nsec = 0;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<const StrMap> smap;
  std::shared_ptr<const AnyMap> amap;
  std::shared_ptr<const std::vector<Value>> list;
  std::shared_ptr<const Struct> st;

  static Value boolean(bool x) {
    Value v;
    v.kind = Kind::kBool;
    v.b = x;
    return v;
  }
  static Value integer(int64_t x) {
    Value v;
    v.kind = Kind::kInt;
    v.i = x;
    return v;
  }
  static Value number(double x) {
    Value v;
    v.kind = Kind::kFloat;
    v.f = x;
    return v;
  }
  static Value string(std::string x) {
    Value v;
    v.kind = Kind::kString;
    v.s = std::move(x);
    return v;
  }
};

// A struct: its fields in declaration order.
struct Struct {
  std::vector<std::pair<std::string, Value>> fields;
  const Value* find(std::string_view name) const {
    for (const auto& [n, v] : fields) {
      if (n == name) return &v;
    }
    return nullptr;
  }
};

Value make_list(Tag tag, std::vector<Value> items) {
  Value v;
  v.kind = Kind::kList;
  v.tag = tag;
  v.list = std::make_shared<const std::vector<Value>>(std::move(items));
  return v;
}

Value make_kv(StrMap m) {
  Value v;
  v.kind = Kind::kStrMap;
  v.tag = Tag::kKV;
  v.smap = std::make_shared<const StrMap>(std::move(m));
  return v;
}

constexpr std::string_view kDataType =
    "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; "
    "Value float64 }";

std::string type_name(const Value& v) {
  switch (v.kind) {
    case Kind::kNil:
      return "<nil>";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return v.tag == Tag::kUint8 ? "uint8" : "int";
    case Kind::kFloat:
      return "float64";
    case Kind::kString:
      return v.tag == Tag::kHTML ? "template.HTML" : "string";
    case Kind::kStrMap:
      return v.tag == Tag::kKV ? "template.KV" : "map[string]string";
    case Kind::kAnyMap:
      return "map[string]interface {}";
    case Kind::kData:
      return std::string(kDataType);
    case Kind::kTime:
      return "time.Time";
    case Kind::kList:
      switch (v.tag) {
        case Tag::kAlerts:
          return "template.Alerts";
        case Tag::kAlertSlice:
          return "[]template.Alert";
        case Tag::kPairs:
          return "template.Pairs";
        case Tag::kStrings:
          return "[]string";
        default:
          return "[]interface {}";
      }
    case Kind::kStruct:
      switch (v.tag) {
        case Tag::kData:
          return "*template.Data";
        case Tag::kAlert:
          return "template.Alert";
        default:
          return "template.Pair";
      }
  }
  return "?";
}

bool truth(const Value& v) {
  switch (v.kind) {
    case Kind::kNil:
      return false;
    case Kind::kBool:
      return v.b;
    case Kind::kInt:
      return v.i != 0;
    case Kind::kFloat:
      return v.f != 0;
    case Kind::kString:
      return !v.s.empty();
    case Kind::kStrMap:
      return v.smap && !v.smap->empty();
    case Kind::kAnyMap:
      return v.amap && !v.amap->empty();
    case Kind::kData:
      return true;
    case Kind::kTime:
      return true;
    case Kind::kList:
      return v.list && !v.list->empty();
    case Kind::kStruct:
      return true;
  }
  return false;
}

// fmt's %v.
std::string to_text(const Value& v, bool nested = false) {
  switch (v.kind) {
    case Kind::kNil:
      return "<nil>";
    case Kind::kBool:
      return v.b ? "true" : "false";
    case Kind::kInt:
      return std::to_string(v.i);
    case Kind::kFloat:
      return shortest_g(v.f);
    case Kind::kString:
      return v.s;
    case Kind::kTime:
      return v.s;
    case Kind::kStrMap: {
      std::string out = "map[";
      bool first = true;
      if (v.smap) {
        for (const auto& [k, x] : *v.smap) {
          if (!first) out += ' ';
          first = false;
          out += k + ":" + x;
        }
      }
      return out + "]";
    }
    case Kind::kAnyMap: {
      std::string out = "map[";
      bool first = true;
      if (v.amap) {
        for (const auto& [k, x] : *v.amap) {
          if (!first) out += ' ';
          first = false;
          out += k + ":" + to_text(x, true);
        }
      }
      return out + "]";
    }
    case Kind::kData: {
      return "{map[] map[]  0}";
    }
    case Kind::kList: {
      std::string out = "[";
      if (v.list) {
        for (std::size_t k = 0; k < v.list->size(); ++k) {
          if (k != 0) out += ' ';
          out += to_text((*v.list)[k], true);
          if (out.size() > kMaxOutput) break;
        }
      }
      return out + "]";
    }
    case Kind::kStruct: {
      // fmt prints a pointer to a struct as &{...} at the top level only (nested: an address,
      // which a template never sees here).
      std::string out = v.tag == Tag::kData && !nested ? "&{" : "{";
      if (v.st) {
        bool first = true;
        for (const auto& [n, x] : v.st->fields) {
          if (!first) out += ' ';
          first = false;
          out += to_text(x, true);
          if (out.size() > kMaxOutput) break;
        }
      }
      return out + "}";
    }
  }
  return {};
}

// ---- strconv.Quote --------------------------------------------------------------------------

// Decodes one UTF-8 rune at s[i]; returns its length (1 and rune 0xFFFD when invalid).
int decode_rune(std::string_view s, std::size_t i, uint32_t& r) {
  const auto c = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) {
    return k < s.size() && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80;
  };
  if (c < 0x80) {
    r = c;
    return 1;
  }
  if (c >= 0xC2 && c <= 0xDF && cont(i + 1)) {
    r = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF && cont(i + 1) && cont(i + 2)) {
    r = ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
        (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
    if (r >= 0x800 && (r < 0xD800 || r > 0xDFFF)) return 3;
  }
  if (c >= 0xF0 && c <= 0xF4 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
    r = ((c & 0x07u) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 12) |
        ((static_cast<unsigned char>(s[i + 2]) & 0x3Fu) << 6) |
        (static_cast<unsigned char>(s[i + 3]) & 0x3Fu);
    if (r >= 0x10000 && r <= 0x10FFFF) return 4;
  }
  r = 0xFFFD;
  return 1;
}

void append_utf8(std::string& out, uint32_t r) {
  if (r < 0x80) {
    out.push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (r >> 6)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (r >> 12)));
    out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (r >> 18)));
    out.push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

std::string go_quote(std::string_view s, char q = '"') {
  static const char* hex = "0123456789abcdef";
  std::string out(1, q);
  for (std::size_t i = 0; i < s.size();) {
    uint32_t r = 0;
    const int n = decode_rune(s, i, r);
    const auto c = static_cast<unsigned char>(s[i]);
    if (r == 0xFFFD && n == 1 && c >= 0x80) {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    } else if (r == static_cast<uint32_t>(q) || r == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(r));
    } else if (r >= 0x20 && r < 0x7F) {
      out.push_back(static_cast<char>(r));
    } else if (r == '\a') {
      out += "\\a";
    } else if (r == '\b') {
      out += "\\b";
    } else if (r == '\f') {
      out += "\\f";
    } else if (r == '\n') {
      out += "\\n";
    } else if (r == '\r') {
      out += "\\r";
    } else if (r == '\t') {
      out += "\\t";
    } else if (r == '\v') {
      out += "\\v";
    } else if (r < 0x20 || r == 0x7F) {
      out += "\\x";
      out.push_back(hex[r >> 4]);
      out.push_back(hex[r & 15]);
    } else {
      out.append(s.substr(i, static_cast<std::size_t>(n)));  // printable non-ASCII as is
    }
    i += static_cast<std::size_t>(n);
  }
  out.push_back(q);
  return out;
}

// ---- fmt.Sprintf ----------------------------------------------------------------------------

std::string fmt_value(const Value& v, const Spec& sp);

// Go's badVerb: "%!d(string=abc)", the value printed with %v and the directive's flags.
std::string bad_verb(char verb, const Value& v, const Spec& sp) {
  if (v.kind == Kind::kNil) return std::string("%!") + verb + "(<nil>)";
  Spec as_v = sp;
  as_v.verb = 'v';
  return std::string("%!") + verb + "(" + type_name(v) + "=" + fmt_value(v, as_v) + ")";
}

// Go's %x / %X of a float: hexadecimal mantissa, binary exponent of at least two digits.
std::string hex_float(double v, const Spec& sp) {
  if (std::isnan(v) || std::isinf(v)) return fmt_float(v, Spec{.prec = -1, .verb = 'g'});
  char buf[64];
  std::string f = sp.prec >= 0 ? "%." + std::to_string(std::min(sp.prec, 20)) + "a" : "%a";
  std::snprintf(buf, sizeof buf, f.c_str(), v);
  std::string s = buf;
  const std::size_t p = s.find('p');
  if (p != std::string::npos && p + 2 < s.size() + 1 && s.size() - p - 2 == 1) {
    s.insert(p + 2, 1, '0');
  }
  if (sp.verb == 'X') {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (s[0] != '-') {
    if (sp.plus) {
      s.insert(0, 1, '+');
    } else if (sp.space) {
      s.insert(0, 1, ' ');
    }
  }
  return pad(s, sp, true);
}

std::string fmt_int(int64_t x, const Spec& sp) {
  if (sp.prec == 0 && x == 0) {  // Go: precision 0 and value 0 print nothing but padding
    Spec p = sp;
    p.zero = false;
    return pad("", p, false);
  }
  std::string digits;
  const bool neg = x < 0;
  const uint64_t u = neg ? 0 - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
  switch (sp.verb) {
    case 'x':
    case 'X': {
      char buf[32];
      std::snprintf(buf, sizeof buf, sp.verb == 'x' ? "%llx" : "%llX",
                    static_cast<unsigned long long>(u));
      digits = buf;
      if (sp.sharp) digits.insert(0, sp.verb == 'x' ? "0x" : "0X");
      break;
    }
    case 'o': {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%llo", static_cast<unsigned long long>(u));
      digits = buf;
      if (sp.sharp) digits.insert(0, "0");
      break;
    }
    case 'b': {
      uint64_t t = u;
      do {
        digits.insert(digits.begin(), static_cast<char>('0' + (t & 1)));
        t >>= 1;
      } while (t);
      break;
    }
    default:
      digits = std::to_string(u);
  }
  if (sp.prec >= 0 && static_cast<int>(digits.size()) < sp.prec) {
    digits.insert(0, static_cast<std::size_t>(sp.prec) - digits.size(), '0');
  }
  if (neg) {
    digits.insert(0, 1, '-');
  } else if (sp.plus) {
    digits.insert(0, 1, '+');
  } else if (sp.space) {
    digits.insert(0, 1, ' ');
  }
  Spec p = sp;
  if (sp.prec >= 0) p.zero = false;
  return pad(digits, p, true);
}

std::string fmt_string(std::string_view s, const Spec& sp) {
  std::string out;
  if (sp.verb == 'q') {
    out = go_quote(s);
  } else if (sp.verb == 'x' || sp.verb == 'X') {
    const char* hex = sp.verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
    for (unsigned char c : s) {
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  } else {
    out = std::string(s);
    if (sp.prec >= 0) {  // precision counts runes
      std::size_t i = 0;
      int runes = 0;
      while (i < out.size() && runes < sp.prec) {
        uint32_t r = 0;
        i += static_cast<std::size_t>(decode_rune(out, i, r));
        ++runes;
      }
      out.resize(i);
    }
  }
  Spec p = sp;
  p.zero = false;
  return pad(out, p, false);
}

std::string fmt_value(const Value& v, const Spec& sp) {
  const char verb = sp.verb;
  switch (v.kind) {
    case Kind::kNil:
      if (verb == 'v') return pad("<nil>", sp, false);
      return bad_verb(verb, v, sp);
    case Kind::kBool:
      if (verb == 'v' || verb == 't') return pad(v.b ? "true" : "false", sp, false);
      return bad_verb(verb, v, sp);
    case Kind::kInt:
      if (verb == 'v' || verb == 'd' || verb == 'x' || verb == 'X' || verb == 'o' || verb == 'b') {
        return fmt_int(v.i, sp);
      }
      if (verb == 'c' || verb == 'q') {
        std::string r;
        append_utf8(r, v.i >= 0 && v.i <= 0x10FFFF ? static_cast<uint32_t>(v.i) : 0xFFFD);
        return verb == 'c' ? pad(r, sp, false) : pad(go_quote(r, '\''), sp, false);
      }
      return bad_verb(verb, v, sp);
    case Kind::kFloat:
      if (verb == 'v' && sp.sharp_v) return pad(shortest_g(v.f), sp, true);
      if (verb == 'v' || verb == 'e' || verb == 'E' || verb == 'f' || verb == 'F' || verb == 'g' ||
          verb == 'G') {
        return fmt_float(v.f, sp);
      }
      if (verb == 'x' || verb == 'X') return hex_float(v.f, sp);
      return bad_verb(verb, v, sp);
    case Kind::kTime:
      if (v.tag == Tag::kGoTime && verb != 'v' && verb != 's' && verb != 'q' && verb != 'x' &&
          verb != 'X') {
        // not a string verb: fmt prints time.Time's fields {wall ext loc} (no monotonic
        // reading, UTC: wall is the nanoseconds, ext the seconds since year 1, loc nil)
        const Value wall = Value::integer(v.nsec);
        const Value ext = Value::integer(v.i - kGoZeroTime.unix_seconds);
        auto field = [&](const Value& x, std::string_view type) {
          if (verb == 'd' || verb == 'b' || verb == 'o') return fmt_int(x.i, sp);
          const std::string shown = type == "*time.Location" ? "<nil>" : std::to_string(x.i);
          return std::string("%!") + verb + "(" + std::string(type) + "=" + shown + ")";
        };
        return "{" + field(wall, "uint64") + " " + field(ext, "int64") + " " +
               field(Value::integer(0), "*time.Location") + "}";
      }
      [[fallthrough]];
    case Kind::kString:
      if (verb == 'v' && sp.sharp_v) {
        Spec q = sp;
        q.verb = 'q';
        return fmt_string(v.s, q);
      }
      if (verb == 'v' || verb == 's' || verb == 'q' || verb == 'x' || verb == 'X') {
        return fmt_string(v.s, sp);
      }
      return bad_verb(verb, v, sp);
    case Kind::kStrMap:
    case Kind::kAnyMap: {
      // Go applies the directive to every key and value; %#v prints Go syntax.
      std::string out = sp.sharp_v ? type_name(v) + "{" : "map[";
      bool first = true;
      auto one = [&](const std::string& k, const Value& x) {
        if (!first) out += sp.sharp_v ? ", " : " ";
        first = false;
        out += fmt_value(Value::string(k), sp) + ":" + fmt_value(x, sp);
      };
      if (v.kind == Kind::kStrMap && v.smap) {
        for (const auto& [k, x] : *v.smap) one(k, Value::string(x));
      }
      if (v.kind == Kind::kAnyMap && v.amap) {
        for (const auto& [k, x] : *v.amap) one(k, x);
      }
      return out + (sp.sharp_v ? "}" : "]");
    }
    case Kind::kData:
      return pad(to_text(v), sp, false);
    case Kind::kList: {
      std::string out = "[";
      if (v.list) {
        for (std::size_t k = 0; k < v.list->size(); ++k) {
          if (k != 0) out += ' ';
          out += fmt_value((*v.list)[k], sp);
          if (out.size() > kMaxOutput) break;
        }
      }
      return out + "]";
    }
    case Kind::kStruct: {
      std::string out = v.tag == Tag::kData ? "&{" : "{";
      if (v.st) {
        bool first = true;
        for (const auto& [n, x] : v.st->fields) {
          if (!first) out += ' ';
          first = false;
          out += fmt_value(x, sp);
          if (out.size() > kMaxOutput) break;
        }
      }
      return out + "}";
    }
  }
  return {};
}

std::string go_sprintf(std::string_view format, const std::vector<Value>& args) {
  std::string out;
  std::size_t argi = 0;
  for (std::size_t i = 0; i < format.size();) {
    const char c = format[i];
    if (c != '%') {
      out.push_back(c);
      ++i;
      continue;
    }
    ++i;
    Spec sp;
    for (; i < format.size(); ++i) {
      const char f = format[i];
      if (f == '-') {
        sp.minus = true;
      } else if (f == '+') {
        sp.plus = true;
      } else if (f == '#') {
        sp.sharp = true;
      } else if (f == '0') {
        sp.zero = !sp.minus;
      } else if (f == ' ') {
        sp.space = true;
      } else {
        break;
      }
    }
    auto number = [&](int& dst) {
      if (i < format.size() && format[i] == '*') {
        ++i;
        // Go's intFromArg: an int of at most 1e6 in magnitude (larger ones, as the minimum
        // int64 whose negation overflowed here, are bad); a negative width left-justifies, a
        // negative precision is bad.
        const bool width = &dst == &sp.width;
        if (argi < args.size() && args[argi].kind == Kind::kInt && args[argi].i <= 1'000'000 &&
            args[argi].i >= (width ? -1'000'000 : 0)) {
          const int64_t w = args[argi++].i;
          dst = static_cast<int>(w < 0 ? -w : w);
          if (w < 0) sp.minus = true;
        } else {
          out += width ? "%!(BADWIDTH)" : "%!(BADPREC)";
          dst = -1;
          if (argi < args.size()) ++argi;
        }
        return;
      }
      if (i < format.size() && format[i] >= '0' && format[i] <= '9') {
        dst = 0;
        while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
          dst = std::min(dst * 10 + (format[i] - '0'), 1'000'000);
          ++i;
        }
      }
    };
    number(sp.width);
    if (i < format.size() && format[i] == '.') {
      ++i;
      sp.prec = 0;
      number(sp.prec);
    }
    if (sp.minus) sp.zero = false;
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    // the verb is a rune
    uint32_t r = 0;
    const int n = decode_rune(format, i, r);
    const std::string verb_text(format.substr(i, static_cast<std::size_t>(n)));
    i += static_cast<std::size_t>(n);
    if (r == '%') {
      out.push_back('%');
      continue;
    }
    if (argi >= args.size()) {
      out += "%!" + verb_text + "(MISSING)";
      continue;
    }
    const Value& a = args[argi++];
    if (n != 1) {
      out += "%!" + verb_text + "(" + type_name(a) + "=" + to_text(a) + ")";
      continue;
    }
    sp.verb = static_cast<char>(r);
    if (sp.verb == 'v' && sp.sharp) {
      sp.sharp = false;
      sp.sharp_v = true;
    }
    out += fmt_value(a, sp);
    if (out.size() > kMaxOutput) return out;
  }
  if (argi < args.size()) {
    out += "%!(EXTRA ";
    for (std::size_t k = argi; k < args.size(); ++k) {
      if (k != argi) out += ", ";
      out += type_name(args[k]) + "=" + to_text(args[k]);
    }
    out += ")";
  }
  return out;
}

}  // namespace

std::string format_float(std::string_view format, double v) {
  return go_sprintf(format, {Value::number(v)});
}

// ============================================================================================
// Prometheus' humanize functions
// ============================================================================================
namespace {
std::string g4(double v) { return fmt_float(v, Spec{.prec = 4, .verb = 'g'}); }
}  // namespace

std::string humanize(double v) {
  if (v == 0 || std::isnan(v) || std::isinf(v)) return g4(v);
  static const char* big[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
  static const char* small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
  std::string prefix;
  if (std::fabs(v) >= 1) {
    for (const char* p : big) {
      if (std::fabs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return g4(v) + prefix;
  }
  for (const char* p : small) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v) + prefix;
}

std::string humanize1024(double v) {
  if (std::fabs(v) <= 1 || std::isnan(v) || std::isinf(v)) return g4(v);
  static const char* big[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
  std::string prefix;
  for (const char* p : big) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return g4(v) + prefix;
}

std::string humanize_duration(double v) {
  if (std::isnan(v) || std::isinf(v)) return g4(v);
  if (v == 0) return g4(v) + "s";
  if (std::fabs(v) >= 1) {
    std::string sign;
    if (v < 0) {
      sign = "-";
      v = -v;
    }
    // Go's int64(v) of a huge float is implementation-defined; saturate.
    const int64_t d = v >= 9.2e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(v);
    const int64_t seconds = d % 60, minutes = (d / 60) % 60, hours = (d / 3600) % 24,
                  days = d / 86400;
    auto s = [](int64_t x) { return std::to_string(x); };
    if (days != 0) {
      return sign + s(days) + "d " + s(hours) + "h " + s(minutes) + "m " + s(seconds) + "s";
    }
    if (hours != 0) return sign + s(hours) + "h " + s(minutes) + "m " + s(seconds) + "s";
    if (minutes != 0) return sign + s(minutes) + "m " + s(seconds) + "s";
    return sign + g4(v) + "s";
  }
  static const char* small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
  std::string prefix;
  for (const char* p : small) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v) + prefix + "s";
}

std::string humanize_percentage(double v) { return g4(v * 100) + "%"; }

namespace {
// Go's time.Time.String() of a UTC time given in milliseconds since the epoch.
std::string go_time_utc(int64_t ms) {
  int64_t secs = ms / 1000;
  int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // civil_from_days (Howard Hinnant's algorithm)
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp + (mp < 10 ? 3 : -9);
  if (m <= 2) ++y;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld",
                static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  std::string out = buf;
  if (frac != 0) {
    char f[8];
    std::snprintf(f, sizeof f, ".%03lld", static_cast<long long>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  return out + " +0000 UTC";
}

// The civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
void civil_from_days(int64_t days, int64_t& y, int64_t& m, int64_t& d) {
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp + (mp < 10 ? 3 : -9);
  if (m <= 2) ++y;
}

// Days since 1970-01-01 of a civil date (the inverse of civil_from_days).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Civil {
  int64_t year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, nsec = 0;
  int64_t weekday = 4;  // 0 = Sunday
  int64_t yday = 1;     // 1-based
};

Civil civil(int64_t secs, int64_t nsec) {
  Civil c;
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  civil_from_days(days, c.year, c.month, c.day);
  c.hour = rem / 3600;
  c.minute = rem / 60 % 60;
  c.second = rem % 60;
  c.nsec = nsec;
  c.weekday = ((days % 7) + 11) % 7;  // 1970-01-01 was a Thursday
  c.yday = days - days_from_civil(c.year, 1, 1) + 1;
  return c;
}

// Go's time.Time.String() of a UTC time: "2006-01-02 15:04:05.999999999 +0000 UTC".
std::string go_time_string(int64_t secs, int64_t nsec) {
  const Civil c = civil(secs, nsec);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld",
                static_cast<long long>(c.year), static_cast<long long>(c.month),
                static_cast<long long>(c.day), static_cast<long long>(c.hour),
                static_cast<long long>(c.minute), static_cast<long long>(c.second));
  std::string out = buf;
  if (nsec != 0) {
    std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(nsec));
    std::string fs = buf;
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  return out + " +0000 UTC";
}

// Go's time.Time.Format(layout) of a UTC time (zone "UTC", offset +0000).
std::string go_time_format(int64_t secs, int64_t nsec, std::string_view layout) {
  static const char* const kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                      "Thursday", "Friday", "Saturday"};
  static const char* const kMonths[] = {"January",   "February", "March",    "April",
                                        "May",       "June",     "July",     "August",
                                        "September", "October",  "November", "December"};
  const Civil c = civil(secs, nsec);
  std::string out;
  auto num = [&](int64_t v, int width) {
    char b[32];
    std::snprintf(b, sizeof b, "%0*lld", width, static_cast<long long>(v));
    out += b;
  };
  auto starts = [&](std::size_t i, std::string_view w) { return layout.substr(i, w.size()) == w; };
  for (std::size_t i = 0; i < layout.size();) {
    if (starts(i, "January")) {
      out += kMonths[c.month - 1];
      i += 7;
    } else if (starts(i, "Jan")) {
      out += std::string(kMonths[c.month - 1]).substr(0, 3);
      i += 3;
    } else if (starts(i, "Monday")) {
      out += kDays[c.weekday];
      i += 6;
    } else if (starts(i, "Mon")) {
      out += std::string(kDays[c.weekday]).substr(0, 3);
      i += 3;
    } else if (starts(i, "MST")) {
      out += "UTC";
      i += 3;
    } else if (starts(i, "2006")) {
      num(c.year, 4);
      i += 4;
    } else if (starts(i, "01")) {
      num(c.month, 2);
      i += 2;
    } else if (starts(i, "02")) {
      num(c.day, 2);
      i += 2;
    } else if (starts(i, "03")) {
      num(c.hour % 12 == 0 ? 12 : c.hour % 12, 2);
      i += 2;
    } else if (starts(i, "04")) {
      num(c.minute, 2);
      i += 2;
    } else if (starts(i, "05")) {
      num(c.second, 2);
      i += 2;
    } else if (starts(i, "06")) {
      num(((c.year % 100) + 100) % 100, 2);
      i += 2;
    } else if (starts(i, "002")) {
      num(c.yday, 3);
      i += 3;
    } else if (starts(i, "_2")) {
      char b[8];
      std::snprintf(b, sizeof b, "%2lld", static_cast<long long>(c.day));
      out += b;
      i += 2;
    } else if (starts(i, "15")) {
      num(c.hour, 2);
      i += 2;
    } else if (starts(i, "-07:00:00") || starts(i, "Z07:00:00")) {
      out += layout[i] == 'Z' ? "Z" : "+00:00:00";
      i += 9;
    } else if (starts(i, "-0700") || starts(i, "Z0700")) {
      out += layout[i] == 'Z' ? "Z" : "+0000";
      i += 5;
    } else if (starts(i, "-07:00") || starts(i, "Z07:00")) {
      out += layout[i] == 'Z' ? "Z" : "+00:00";
      i += 6;
    } else if (starts(i, "-07") || starts(i, "Z07")) {
      out += layout[i] == 'Z' ? "Z" : "+00";
      i += 3;
    } else if (starts(i, "PM") || starts(i, "pm")) {
      const bool pm = c.hour >= 12;
      out += layout[i] == 'P' ? (pm ? "PM" : "AM") : (pm ? "pm" : "am");
      i += 2;
    } else if (starts(i, ".0") || starts(i, ",0") || starts(i, ".9") || starts(i, ",9")) {
      // a run of 0s or 9s after . or , (not followed by a digit) is fractional seconds
      const char d = layout[i + 1];
      std::size_t j = i + 1;
      while (j < layout.size() && layout[j] == d) ++j;
      if (j < layout.size() && layout[j] >= '0' && layout[j] <= '9') {
        out.push_back(layout[i]);
        ++i;
        continue;
      }
      const int n = static_cast<int>(std::min<std::size_t>(j - i - 1, 9));
      char b[16];
      std::snprintf(b, sizeof b, "%09lld", static_cast<long long>(c.nsec));
      std::string frac(b, static_cast<std::size_t>(n));
      if (d == '9') {
        while (!frac.empty() && frac.back() == '0') frac.pop_back();
        if (!frac.empty()) out += layout[i] + frac;
      } else {
        out += layout[i] + frac;
      }
      i = j;
    } else if (starts(i, "1")) {
      out += std::to_string(c.month);
      ++i;
    } else if (starts(i, "2")) {
      out += std::to_string(c.day);
      ++i;
    } else if (starts(i, "3")) {
      out += std::to_string(c.hour % 12 == 0 ? 12 : c.hour % 12);
      ++i;
    } else if (starts(i, "4")) {
      out += std::to_string(c.minute);
      ++i;
    } else if (starts(i, "5")) {
      out += std::to_string(c.second);
      ++i;
    } else {
      out.push_back(layout[i]);
      ++i;
    }
    if (out.size() > kMaxOutput) break;
  }
  return out;
}

Value make_time(const GoTime& t) {
  Value v;
  v.kind = Kind::kTime;
  v.tag = Tag::kGoTime;
  v.i = t.unix_seconds;
  v.nsec = t.nanos;
  v.s = go_time_string(t.unix_seconds, t.nanos);
  return v;
}

}  // namespace

detail::ParseResult<std::string> humanize_timestamp(double v) {
  using R = detail::ParseResult<std::string>;
  if (std::isnan(v) || std::isinf(v)) return R::ok(g4(v));
  const double ns = v * 1e9;
  if (ns > 9223372036854775807.0 || ns < -9223372036854775808.0 || ns >= 9.223372036854775807e18) {
    return R::fail(shortest_g(v) +
                   " cannot be represented as a nanoseconds timestamp since it overflows int64");
  }
  const auto n = static_cast<int64_t>(ns);
  return R::ok(go_time_utc(n / 1'000'000));  // model.TimeFromUnixNano truncates to ms
}

// ============================================================================================
// Lexer and parser
// ============================================================================================

namespace {

enum class Tok : uint8_t {
  kEOF,
  kError,
  kSpace,
  kRightDelim,
  kPipe,
  kLeftParen,
  kRightParen,
  kDeclare,
  kAssign,
  kComma,
  kString,
  kRawString,
  kChar,
  kNumber,
  kBool,
  kNil,
  kDot,
  kField,
  kVariable,
  kIdentifier,
  kKeyword,
  kOther,
};

struct Token {
  Tok kind = Tok::kEOF;
  std::string text;
  int line = 1;
  std::size_t pos = 0;
};

enum class ArgKind : uint8_t { kDot, kField, kVariable, kIdent, kConst, kPipe, kNil };

struct Pipe;

struct Arg {
  ArgKind kind = ArgKind::kDot;
  std::string name;                 // kVariable: "$x"; kIdent: function name
  std::vector<std::string> fields;  // field chain (.a.b)
  Value constant;                   // kConst
  std::shared_ptr<Pipe> pipe;       // kPipe
  std::string text;                 // as written, for error context
  std::size_t pos = 0;              // byte offset in the source
  std::size_t err_pos = 0;          // where Go reports errors of the node (a chain: its field)
};

struct Command {
  std::vector<Arg> args;
  std::size_t pos = 0;
  std::string text;  // Go's String() of the command
};

struct Pipe {
  std::vector<std::string> decl;  // declared / assigned variables
  bool assign = false;            // `=` instead of `:=`
  std::vector<Command> cmds;
  std::size_t pos = 0;
  int line = 1;
  std::string text;
};

enum class NodeKind : uint8_t {
  kText,
  kAction,
  kIf,
  kRange,
  kWith,
  kBreak,
  kContinue,
  kTemplate,  // {{template "name" pipeline}} (Alertmanager dialect)
};

struct Node {
  NodeKind kind = NodeKind::kText;
  std::string text;  // kText; kTemplate: the template's name
  Pipe pipe;         // kTemplate: no commands when called without a pipeline
  std::vector<Node> list;
  std::vector<Node> else_list;
  int line = 1;
  std::size_t pos = 0;  // kTemplate: where Go reports its errors (the name)
  std::string label;    // kTemplate: Go's String() of the node
};

}  // namespace

struct Program {
  std::string name;
  std::string source;
  std::vector<Node> root;
  Dialect dialect = Dialect::kPrometheus;
  std::map<std::string, std::vector<Node>, std::less<>> defines;  // {{define "name"}}
  std::shared_ptr<const Program> library;  // where names not defined here are looked up
};

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// Go's text/template built-ins plus a dialect's functions: name -> 1 supported, 0 not supported
// in-process.
std::map<std::string_view, int> with_go_builtins(
    std::initializer_list<std::pair<const std::string_view, int>> dialect) {
  std::map<std::string_view, int> fns = {
      {"and", 1},      {"or", 1},     {"not", 1},     {"len", 1},  {"index", 1},
      {"print", 1},    {"printf", 1}, {"println", 1}, {"eq", 1},   {"ne", 1},
      {"lt", 1},       {"le", 1},     {"gt", 1},      {"ge", 1},   {"html", 1},
      {"urlquery", 1}, {"slice", 1},  {"js", 0},      {"call", 0},
  };
  fns.insert(dialect);
  return fns;
}

// Alertmanager 0.25's DefaultFuncs and Go's built-ins.
const std::map<std::string_view, int>& alertmanager_functions() {
  static const std::map<std::string_view, int> fns = with_go_builtins({
      {"toUpper", 1},
      {"toLower", 1},
      {"title", 1},
      {"join", 1},
      {"match", 1},
      {"safeHtml", 1},
      {"reReplaceAll", 1},
      {"stringSlice", 1},
      // html/template's escapers, written out in the default HTML e-mail body (vigil runs
      // every template as text/template)
      {"_html_template_htmlescaper", 1},
      {"_html_template_attrescaper", 1},
      {"_html_template_rcdataescaper", 1},
      {"_html_template_urlfilter", 1},
      {"_html_template_urlnormalizer", 1},
  });
  return fns;
}

const std::map<std::string_view, int>& known_functions(Dialect d) {
  if (d == Dialect::kAlertmanager) return alertmanager_functions();
  // Prometheus' template functions and Go's built-ins.
  static const std::map<std::string_view, int> fns = with_go_builtins({
      {"query", 0},
      {"first", 0},
      {"label", 0},
      {"value", 0},
      {"strvalue", 0},
      {"sortByLabel", 0},
      {"args", 1},
      {"reReplaceAll", 1},
      {"safeHtml", 1},
      {"match", 1},
      {"title", 1},
      {"toUpper", 1},
      {"toLower", 1},
      {"graphLink", 1},
      {"tableLink", 1},
      {"stripPort", 1},
      {"stripDomain", 1},
      {"humanize", 1},
      {"humanize1024", 1},
      {"humanizeDuration", 1},
      {"humanizePercentage", 1},
      {"humanizeTimestamp", 1},
      {"toTime", 1},
      {"pathPrefix", 1},
      {"externalURL", 1},
      {"parseDuration", 1},
  });
  return fns;
}

class ParseError {
 public:
  std::string message;
};

// Unquotes a Go interpreted string literal (with quotes); false when malformed.
bool unquote(std::string_view lit, std::string& out) {
  out.clear();
  const char q = lit.front();
  if (q == '`') {
    for (char c : lit.substr(1, lit.size() - 2)) {
      if (c != '\r') out.push_back(c);
    }
    return true;
  }
  std::string_view s = lit.substr(1, lit.size() - 2);
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == q || c == '\n') return false;
    if (c != '\\') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (++i >= s.size()) return false;
    const char e = s[i++];
    auto hexv = [](char h) -> int {
      if (h >= '0' && h <= '9') return h - '0';
      if (h >= 'a' && h <= 'f') return h - 'a' + 10;
      if (h >= 'A' && h <= 'F') return h - 'A' + 10;
      return -1;
    };
    switch (e) {
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '\'':
      case '"':
        if (e != q) return false;
        out.push_back(e);
        break;
      case 'x':
      case 'u':
      case 'U': {
        const int n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
        if (i + static_cast<std::size_t>(n) > s.size()) return false;
        uint32_t v = 0;
        for (int k = 0; k < n; ++k) {
          const int h = hexv(s[i + static_cast<std::size_t>(k)]);
          if (h < 0) return false;
          v = v * 16 + static_cast<uint32_t>(h);
        }
        i += static_cast<std::size_t>(n);
        if (e == 'x') {
          out.push_back(static_cast<char>(v));
        } else {
          if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
          append_utf8(out, v);
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          if (i + 2 > s.size()) return false;
          uint32_t v = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2; ++k) {
            const char d = s[i++];
            if (d < '0' || d > '7') return false;
            v = v * 8 + static_cast<uint32_t>(d - '0');
          }
          if (v > 255) return false;
          out.push_back(static_cast<char>(v));
          break;
        }
        return false;
    }
  }
  return true;
}

// Parses a Go template number literal; int constants become Kind::kInt, others float64.
bool parse_number(std::string_view text, Value& out) {
  std::string t;
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  for (char c : s) {
    if (c != '_') t.push_back(c);
  }
  if (t.empty()) return false;
  const bool hex = t.size() > 1 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X');
  const bool is_float = hex ? t.find_first_of("pP") != std::string::npos
                            : t.find_first_of(".eE") != std::string::npos;
  if (!is_float) {
    int base = 10;
    std::string_view digits = t;
    if (hex) {
      base = 16;
      digits.remove_prefix(2);
    } else if (t.size() > 1 && t[0] == '0' && (t[1] == 'o' || t[1] == 'O')) {
      base = 8;
      digits.remove_prefix(2);
    } else if (t.size() > 1 && t[0] == '0' && (t[1] == 'b' || t[1] == 'B')) {
      base = 2;
      digits.remove_prefix(2);
    } else if (t.size() > 1 && t[0] == '0') {
      base = 8;
      digits.remove_prefix(1);
    }
    uint64_t u = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), u, base);
    if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size()) {
      return false;
    }
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (neg ? 1 : 0)) {
      return false;
    }
    out = Value::integer(neg ? static_cast<int64_t>(0 - u) : static_cast<int64_t>(u));
    return true;
  }
  std::string c = t;
  char* end = nullptr;
  const double d = std::strtod(c.c_str(), &end);
  if (end != c.c_str() + c.size()) return false;
  out = Value::number(neg ? -d : d);
  return true;
}

class Parser {
 public:
  Parser(std::string_view src, std::string name, Dialect dialect,
         std::map<std::string, std::vector<Node>, std::less<>>* defines)
      : src_(src), name_(std::move(name)), dialect_(dialect), defines_(defines) {}

  std::optional<std::string> run(std::vector<Node>& root) {
    vars_ = {"$"};
    const int end = parse_list(root, /*top=*/true);
    if (!error_.empty()) return error_;
    if (end != kEndEOF) return error_;
    return std::nullopt;
  }

 private:
  enum { kEndEOF, kEndEnd, kEndElse, kEndError };

  std::string_view src_;
  std::string name_;
  Dialect dialect_;
  std::map<std::string, std::vector<Node>, std::less<>>* defines_;
  std::size_t pos_ = 0;
  int line_ = 1;
  std::string error_;
  std::vector<std::string> vars_;
  bool trim_next_text_ = false;
  int depth_ = 0;
  int range_depth_ = 0;
  // the tokens of the current action
  std::vector<Token> toks_;
  std::size_t ti_ = 0;
  std::string pending_else_if_;  // unused marker

  void fail(int line, const std::string& msg) {
    if (error_.empty()) error_ = "template: " + name_ + ":" + std::to_string(line) + ": " + msg;
  }

  int count_lines(std::size_t from, std::size_t to) const {
    return static_cast<int>(std::count(src_.begin() + static_cast<std::ptrdiff_t>(from),
                                       src_.begin() + static_cast<std::ptrdiff_t>(to), '\n'));
  }

  // Reads text up to the next action; returns false at EOF (text may be non-empty).
  // On true, pos_ is inside the action (after "{{" and an optional trim marker) and toks_
  // holds its tokens, or the action was a comment (toks_ empty, is_comment set).
  bool next_action(std::string& text, bool& is_comment, int& action_line) {
    text.clear();
    is_comment = false;
    std::size_t open = src_.find("{{", pos_);
    std::size_t text_end = open == std::string_view::npos ? src_.size() : open;
    std::string_view t = src_.substr(pos_, text_end - pos_);
    if (trim_next_text_) {
      while (!t.empty() && is_space(t.front())) t.remove_prefix(1);
      trim_next_text_ = false;
    }
    if (open == std::string_view::npos) {
      text = std::string(t);
      line_ += count_lines(pos_, src_.size());
      pos_ = src_.size();
      return false;
    }
    line_ += count_lines(pos_, open);
    std::size_t p = open + 2;
    if (p + 1 < src_.size() && src_[p] == '-' && is_space(src_[p + 1])) {
      // Go: the trim marker is "-" and one space; a comment must follow it directly
      while (!t.empty() && is_space(t.back())) t.remove_suffix(1);
      if (src_[p + 1] == '\n') ++line_;
      p += 2;
    }
    text = std::string(t);
    action_line = line_;
    pos_ = p;
    if (src_.compare(p, 2, "/*") == 0) {
      const std::size_t close = src_.find("*/", p + 2);
      if (close == std::string_view::npos) {
        fail(line_, "unclosed comment");
        return false;
      }
      line_ += count_lines(p, close);
      std::size_t q = close + 2;
      bool trim = false;
      if (q + 3 <= src_.size() && is_space(src_[q]) && src_[q + 1] == '-' &&
          src_.compare(q + 2, 2, "}}") == 0) {
        trim = true;
        q += 2;
      }
      if (src_.compare(q, 2, "}}") != 0) {
        fail(line_, "comment ends before closing delimiter");
        return false;
      }
      pos_ = q + 2;
      trim_next_text_ = trim;
      is_comment = true;
      return true;
    }
    lex_action();
    return error_.empty();
  }

  void push(Tok k, std::size_t b, std::size_t e, int line) {
    toks_.push_back(Token{k, std::string(src_.substr(b, e - b)), line, b});
  }

  // Go's atTerminator: what may follow an identifier, field or variable.
  bool at_terminator(std::size_t p) const {
    if (p >= src_.size()) return true;
    const char c = src_[p];
    return is_space(c) || c == '.' || c == ',' || c == '|' || c == ':' || c == ')' || c == '(' ||
           src_.compare(p, 2, "}}") == 0;
  }

  void lex_fail(std::string msg, std::size_t p) {
    toks_.push_back(Token{Tok::kError, std::move(msg), line_, p});
  }

  static std::string bad_char(std::string_view src, std::size_t p) {
    uint32_t r = 0;
    const int n = decode_rune(src, p, r);
    char buf[32];
    std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(r));
    std::string out = std::string("bad character ") + buf + " '";
    out.append(src.substr(p, static_cast<std::size_t>(n)));
    return out + "'";
  }

  // Lexes one action into toks_; a lexing error becomes a kError token (the last one), which
  // the parser reports when it gets there, as Go's lexer and parser do.
  void lex_action() {
    toks_.clear();
    ti_ = 0;
    std::size_t p = pos_;
    int parens = 0;
    while (true) {
      if (p >= src_.size()) return lex_fail("unclosed action", p);
      const char c = src_[p];
      if (is_space(c)) {
        std::size_t q = p;
        while (q < src_.size() && is_space(src_[q])) {
          if (src_[q] == '\n') ++line_;
          ++q;
        }
        if (src_.compare(q, 3, "-}}") == 0) {  // " -}}": right delimiter with trim marker
          if (parens > 0) return lex_fail("unclosed left paren", q);
          toks_.push_back(Token{Tok::kRightDelim, "}}", line_, q});
          pos_ = q + 3;
          trim_next_text_ = true;
          return;
        }
        push(Tok::kSpace, p, q, line_);
        p = q;
        continue;
      }
      if (src_.compare(p, 2, "}}") == 0) {
        if (parens > 0) return lex_fail("unclosed left paren", p);
        toks_.push_back(Token{Tok::kRightDelim, "}}", line_, p});
        pos_ = p + 2;
        return;
      }
      const std::size_t b = p;
      if (c == '|') {
        push(Tok::kPipe, b, ++p, line_);
      } else if (c == '(') {
        ++parens;
        push(Tok::kLeftParen, b, ++p, line_);
      } else if (c == ')') {
        --parens;  // an unbalanced one is reported by the parser, as Go 1.19's does
        push(Tok::kRightParen, b, ++p, line_);
      } else if (c == ':') {
        if (p + 1 >= src_.size() || src_[p + 1] != '=') return lex_fail("expected :=", p);
        p += 2;
        push(Tok::kDeclare, b, p, line_);
      } else if (c == '=') {
        push(Tok::kAssign, b, ++p, line_);
      } else if (c == ',') {
        push(Tok::kComma, b, ++p, line_);
      } else if (c == '"' || c == '\'') {
        ++p;
        while (true) {
          if (p >= src_.size() || src_[p] == '\n') {
            return lex_fail(
                c == '"' ? "unterminated quoted string" : "unterminated character constant", p);
          }
          if (src_[p] == '\\') {
            p += 2;
            continue;
          }
          if (src_[p++] == c) break;
        }
        push(c == '"' ? Tok::kString : Tok::kChar, b, p, line_);
      } else if (c == '`') {
        const std::size_t close = src_.find('`', p + 1);
        if (close == std::string_view::npos) return lex_fail("unterminated raw quoted string", p);
        p = close + 1;
        push(Tok::kRawString, b, p, line_);
        line_ += count_lines(b, p);
      } else if (c == '$') {
        ++p;
        while (p < src_.size() && is_alnum(src_[p])) ++p;
        if (!at_terminator(p)) return lex_fail(bad_char(src_, p), p);
        push(Tok::kVariable, b, p, line_);
      } else if (c == '.' && p + 1 < src_.size() && !(src_[p + 1] >= '0' && src_[p + 1] <= '9')) {
        ++p;
        if (at_terminator(p)) {
          push(Tok::kDot, b, p, line_);
          continue;
        }
        while (p < src_.size() && is_alnum(src_[p])) ++p;
        if (!at_terminator(p)) return lex_fail(bad_char(src_, p), p);
        push(Tok::kField, b, p, line_);
      } else if (c == '.' || c == '+' || c == '-' || (c >= '0' && c <= '9')) {
        std::size_t q = p;
        if (!scan_number(q)) {
          return lex_fail("bad number syntax: " + go_quote(src_.substr(b, q - b)), p);
        }
        if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) {  // complex: 1+2i
          if (!scan_number(q) || src_[q - 1] != 'i') {
            return lex_fail("bad number syntax: " + go_quote(src_.substr(b, q - b)), p);
          }
        }
        p = q;
        push(Tok::kNumber, b, p, line_);
      } else if (is_alnum(c)) {
        while (p < src_.size() && is_alnum(src_[p])) ++p;
        if (!at_terminator(p)) return lex_fail(bad_char(src_, p), p);
        const std::string_view w = src_.substr(b, p - b);
        Tok k = Tok::kIdentifier;
        if (w == "true" || w == "false") {
          k = Tok::kBool;
        } else if (w == "nil") {
          k = Tok::kNil;
        } else if (w == "if" || w == "else" || w == "end" || w == "range" || w == "with" ||
                   w == "break" || w == "continue" || w == "define" || w == "template" ||
                   w == "block") {
          k = Tok::kKeyword;
        }
        push(k, b, p, line_);
      } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "unrecognized character in action: U+%04X",
                      static_cast<unsigned>(static_cast<unsigned char>(c)));
        return lex_fail(buf, p);
      } else {
        uint32_t r = 0;
        const int n = decode_rune(src_, p, r);
        p += static_cast<std::size_t>(n);
        push(Tok::kOther, b, p, line_);
      }
    }
  }

  // Go's lexer scanNumber: advances q over a number; false (with q one past the offending
  // character) when the number is malformed.
  bool scan_number(std::size_t& q) const {
    auto accept = [&](std::string_view set) {
      if (q < src_.size() && set.find(src_[q]) != std::string_view::npos) {
        ++q;
        return true;
      }
      return false;
    };
    auto accept_run = [&](std::string_view set) {
      while (q < src_.size() && set.find(src_[q]) != std::string_view::npos) ++q;
    };
    accept("+-");
    std::string_view digits = "0123456789_";
    bool hex = false;
    if (accept("0")) {
      if (accept("xX")) {
        digits = "0123456789abcdefABCDEF_";
        hex = true;
      } else if (accept("oO")) {
        digits = "01234567_";
      } else if (accept("bB")) {
        digits = "01_";
      }
    }
    accept_run(digits);
    if (accept(".")) accept_run(digits);
    if (!hex && digits.size() == 11 && accept("eE")) {
      accept("+-");
      accept_run("0123456789_");
    }
    if (hex && accept("pP")) {
      accept("+-");
      accept_run("0123456789_");
    }
    accept("i");
    if (q < src_.size() && is_alnum(src_[q])) {
      ++q;
      return false;
    }
    return true;
  }

  // ---- token stream of one action
  const Token& peek_raw() {
    static const Token eof{};
    return ti_ < toks_.size() ? toks_[ti_] : eof;
  }
  const Token& peek() {
    while (ti_ < toks_.size() && toks_[ti_].kind == Tok::kSpace) ++ti_;
    return peek_raw();
  }
  Token next() {
    const Token t = peek();
    if (ti_ < toks_.size()) ++ti_;
    return t;
  }

  // Go's t.unexpected(token, context), or the lexing error the token carries.
  void unexpected(const Token& t, const std::string& ctx) {
    if (t.kind == Tok::kError) {
      std::string extra;
      if (action_line_ != 0 && action_line_ != t.line) {
        extra = " in action started at " + name_ + ":" + std::to_string(action_line_);
        if (t.text.size() >= 7 && t.text.compare(t.text.size() - 7, 7, " action") == 0) {
          extra = extra.substr(10);  // "unclosed action started at ..."
        }
      }
      fail(t.line, t.text + extra);
    } else {
      fail(t.line, "unexpected " + describe(t) + " in " + ctx);
    }
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEOF:
        return "EOF";
      case Tok::kKeyword:
      case Tok::kDot:
      case Tok::kNil:
        return "<" + t.text + ">";
      default:
        if (t.text.size() > 10) return go_quote(t.text.substr(0, 10)) + "...";
        return go_quote(t.text);
    }
  }

  // Parses the node list until {{end}} / {{else}} / EOF.
  int parse_list(std::vector<Node>& out, bool top) {
    if (++depth_ > kMaxDepth) {
      fail(line_, "template nested too deeply");
      return kEndError;
    }
    struct DepthGuard {
      int& d;
      ~DepthGuard() { --d; }
    } guard{depth_};
    while (true) {
      std::string text;
      bool comment = false;
      int aline = line_;
      const bool more = next_action(text, comment, aline);
      if (!error_.empty()) return kEndError;
      if (!text.empty()) out.push_back(Node{NodeKind::kText, text, {}, {}, {}, aline});
      if (!more) {
        if (!top) {
          fail(line_, "unexpected EOF");
          return kEndError;
        }
        return kEndEOF;
      }
      if (comment) continue;
      action_line_ = aline;
      const Token& first = peek();
      if (first.kind == Tok::kKeyword) {
        const std::string kw = first.text;
        next();
        if (kw == "end") {
          if (!expect_close("end")) return kEndError;
          if (top) {
            fail(aline, "unexpected {{end}}");
            return kEndError;
          }
          return kEndEnd;
        }
        if (kw == "else") {
          if (top) {
            const Token& t = peek();
            if (!(t.kind == Tok::kKeyword && t.text == "if") && !expect_close("else")) {
              return kEndError;
            }
            fail(aline, "unexpected {{else}}");
            return kEndError;
          }
          return kEndElse;  // the caller looks at the rest of the action
        }
        if (kw == "if" || kw == "range" || kw == "with") {
          Node n;
          if (!parse_control(kw, aline, n)) return kEndError;
          out.push_back(std::move(n));
          continue;
        }
        if (kw == "break" || kw == "continue") {
          if (!expect_close("{{" + kw + "}}")) return kEndError;
          if (range_depth_ == 0) {
            fail(aline, "{{" + kw + "}} outside {{range}}");
            return kEndError;
          }
          Node n;
          n.kind = kw == "break" ? NodeKind::kBreak : NodeKind::kContinue;
          n.line = aline;
          out.push_back(std::move(n));
          continue;
        }
        if (dialect_ == Dialect::kAlertmanager &&
            (kw == "define" || kw == "template" || kw == "block")) {
          if (kw == "define" && !top) {
            fail(aline, "unexpected <define> in command");
            return kEndError;
          }
          Node n;
          if (!parse_named(kw, aline, n)) return kEndError;
          if (kw != "define") out.push_back(std::move(n));
          continue;
        }
        fail(aline, "not supported in-process: " + kw);
        return kEndError;
      }
      Node n;
      n.kind = NodeKind::kAction;
      n.line = aline;
      if (!parse_pipeline(n.pipe, "command", aline, /*control=*/false)) return kEndError;
      out.push_back(std::move(n));
    }
  }

  // {{define "name"}}...{{end}}, {{template "name" [pipeline]}}, {{block "name" pipeline}}
  // ...{{end}}: a definition is stored in defines_; a call becomes `n`.
  bool parse_named(const std::string& kw, int line, Node& n) {
    const std::string ctx = kw + " clause";
    const Token name_tok = next();
    std::string name;
    if ((name_tok.kind != Tok::kString && name_tok.kind != Tok::kRawString) ||
        !unquote(name_tok.text, name)) {
      unexpected(name_tok, ctx);
      return false;
    }
    n.kind = NodeKind::kTemplate;
    n.text = name;
    n.line = line;
    n.pos = name_tok.pos;
    if (kw == "define") {
      if (!expect_close(ctx)) return false;
    } else if (peek().kind == Tok::kRightDelim) {
      if (kw == "block") {
        fail(line, "missing value for " + ctx);
        return false;
      }
      next();
    } else if (!parse_pipeline(n.pipe, ctx, line, /*control=*/false)) {
      return false;
    }
    n.label =
        "{{template " + go_quote(name) + (n.pipe.cmds.empty() ? "" : " " + n.pipe.text) + "}}";
    if (kw == "template") return true;
    // a body with its own variables
    std::vector<std::string> saved_vars = {"$"};
    std::swap(saved_vars, vars_);
    const int saved_range = range_depth_;
    range_depth_ = 0;
    std::vector<Node> body;
    const int end = parse_list(body, false);
    std::swap(saved_vars, vars_);
    range_depth_ = saved_range;
    if (end == kEndError) return false;
    if (end != kEndEnd) {
      fail(line_, "unexpected {{else}} in " + ctx);
      return false;
    }
    (*defines_)[name] = std::move(body);
    return true;
  }

  bool expect_close(const std::string& ctx) {
    const Token t = next();
    if (t.kind != Tok::kRightDelim) {
      unexpected(t, ctx);
      return false;
    }
    return true;
  }

  // if/range/with: pipeline, list, optional else, end.
  bool parse_control(const std::string& kw, int line, Node& n) {
    n.kind = kw == "if" ? NodeKind::kIf : (kw == "range" ? NodeKind::kRange : NodeKind::kWith);
    n.line = line;
    const std::size_t mark = vars_.size();
    if (!parse_pipeline(n.pipe, kw, line, /*control=*/true)) return false;
    if (kw == "range") ++range_depth_;
    int end = parse_list(n.list, false);
    if (kw == "range") --range_depth_;
    if (end == kEndError) return false;
    if (end == kEndElse) {
      // {{else}} or {{else if ...}}
      const Token& t = peek();
      if (t.kind == Tok::kKeyword && t.text == "if" && kw == "if") {
        next();
        Node inner;
        if (!parse_control("if", t.line, inner)) return false;
        n.else_list.push_back(std::move(inner));
        vars_.resize(mark);
        return true;  // the inner if consumed the {{end}}
      }
      if (t.kind == Tok::kKeyword && t.text == "with" && kw == "with") {
        fail(t.line, "unexpected \"with\" in else");  // Go 1.23+ only
        return false;
      }
      if (!expect_close("else")) return false;
      end = parse_list(n.else_list, false);
      if (end == kEndError) return false;
      if (end == kEndElse) {
        fail(line_, "expected end; found {{else}}");
        return false;
      }
    }
    vars_.resize(mark);
    return true;
  }

  bool parse_pipeline(Pipe& pipe, const std::string& ctx, int line, bool control) {
    pipe.line = line;
    pipe.pos = peek().pos;
    pipeline_start_ = true;
    // declarations: $x := / $x = / $k, $v :=
    {
      const std::size_t save = ti_;
      const Token& t = peek();
      if (t.kind == Tok::kVariable) {
        Token v = next();
        const Token& after = peek_raw().kind == Tok::kSpace ? peek() : peek_raw();
        if (after.kind == Tok::kDeclare || after.kind == Tok::kAssign) {
          const bool assign = after.kind == Tok::kAssign;
          next();
          pipe.decl.push_back(v.text);
          pipe.assign = assign;
          pipeline_start_ = false;
          vars_.push_back(v.text);  // Go 1.19 declares on `=` too (exec then fails)
        } else if (after.kind == Tok::kComma && ctx == "range") {
          next();
          const Token v2 = next();
          if (v2.kind != Tok::kVariable) {
            fail(v2.line, "range can only initialize variables");
            return false;
          }
          const Token op = next();
          if (op.kind != Tok::kDeclare && op.kind != Tok::kAssign) {
            fail(op.line, "expected := or = in range declaration");
            return false;
          }
          pipe.decl = {v.text, v2.text};
          pipeline_start_ = false;
          pipe.assign = op.kind == Tok::kAssign;
          vars_.push_back(v.text);
          vars_.push_back(v2.text);
        } else if (after.kind == Tok::kComma) {
          fail(after.line, "too many declarations in " + ctx);
          return false;
        } else {
          ti_ = save;
        }
      }
    }
    int end_line = line;
    while (true) {
      const Token& t = peek();
      end_line = t.kind == Tok::kEOF ? end_line : t.line;
      if (t.kind == Tok::kRightDelim) {
        if (in_paren_) {
          fail(t.line, "unclosed left paren");
          return false;
        }
        next();
        break;
      }
      if (t.kind == Tok::kRightParen) {
        if (!in_paren_) {
          unexpected(t, ctx);
          return false;
        }
        next();
        break;
      }
      switch (t.kind) {
        case Tok::kBool:
        case Tok::kChar:
        case Tok::kDot:
        case Tok::kField:
        case Tok::kIdentifier:
        case Tok::kNumber:
        case Tok::kNil:
        case Tok::kRawString:
        case Tok::kString:
        case Tok::kVariable:
        case Tok::kLeftParen:
          break;
        default:
          unexpected(t, ctx);
          return false;
      }
      Command cmd;
      if (!parse_command(cmd)) return false;
      pipe.cmds.push_back(std::move(cmd));
    }
    if (pipe.cmds.empty()) {
      fail(end_line, "missing value for " + ctx);
      return false;
    }
    for (std::size_t i = 0; i < pipe.decl.size(); ++i) {
      pipe.text += (i ? ", " : "") + pipe.decl[i];
    }
    if (!pipe.decl.empty()) pipe.text += pipe.assign ? " = " : " := ";
    for (std::size_t i = 0; i < pipe.cmds.size(); ++i) {
      pipe.text += (i ? " | " : "") + pipe.cmds[i].text;
    }
    for (std::size_t i = 1; i < pipe.cmds.size(); ++i) {
      const Arg& a = pipe.cmds[i].args[0];
      if (a.kind == ArgKind::kConst || a.kind == ArgKind::kNil || a.kind == ArgKind::kDot) {
        fail(line, "non executable command in pipeline stage " + std::to_string(i + 1));
        return false;
      }
    }
    (void)control;
    return true;
  }

  bool in_paren_ = false;
  int action_line_ = 0;          // the line where the current action starts
  bool pipeline_start_ = false;  // the next operand is the first of a pipeline

  bool has_var(const std::string& name) const {
    return std::find(vars_.begin(), vars_.end(), name) != vars_.end();
  }

  bool parse_command(Command& cmd) {
    cmd.pos = peek().pos;
    while (true) {
      const Token& t = peek();
      if (t.kind == Tok::kRightDelim || t.kind == Tok::kRightParen) break;
      if (t.kind == Tok::kPipe) {
        if (cmd.args.empty()) {
          fail(t.line, "missing value for command");
          return false;
        }
        next();
        set_text(cmd);
        return true;
      }
      Arg a;
      if (!parse_operand(a)) return false;
      cmd.args.push_back(std::move(a));
      // operands must be separated by space
      const Token& after = peek_raw();
      if (after.kind != Tok::kSpace && after.kind != Tok::kRightDelim &&
          after.kind != Tok::kRightParen && after.kind != Tok::kPipe) {
        unexpected(after, "operand");
        return false;
      }
    }
    if (cmd.args.empty()) {
      fail(peek().line, "missing value for command");
      return false;
    }
    set_text(cmd);
    return true;
  }

  static void set_text(Command& cmd) {
    for (const Arg& a : cmd.args) {
      if (!cmd.text.empty()) cmd.text += ' ';
      cmd.text += a.text;
    }
  }

  bool parse_operand(Arg& a) {
    const Token t = next();
    const bool at_start = pipeline_start_;
    pipeline_start_ = false;
    a.text = t.text;
    a.pos = t.pos;
    a.err_pos = t.pos;
    switch (t.kind) {
      case Tok::kDot:
        a.kind = ArgKind::kDot;
        break;
      case Tok::kField:
        a.kind = ArgKind::kField;
        a.fields.push_back(t.text.substr(1));
        break;
      case Tok::kVariable:
        if (!has_var(t.text)) {
          // Go reports the line of its look-ahead: at the start of a pipeline, the next
          // non-space token after the variable.
          int line = t.line;
          if (at_start) {
            const std::size_t save = ti_;
            line = peek().kind == Tok::kEOF ? t.line : peek().line;
            ti_ = save;
          }
          fail(line, "undefined variable \"" + t.text + "\"");
          return false;
        }
        a.kind = ArgKind::kVariable;
        a.name = t.text;
        break;
      case Tok::kIdentifier: {
        const auto& fns = known_functions(dialect_);
        auto it = fns.find(t.text);
        if (it == fns.end()) {
          fail(t.line, "function \"" + t.text + "\" not defined");
          return false;
        }
        if (it->second == 0) {
          fail(t.line, "not supported in-process: " + t.text);
          return false;
        }
        a.kind = ArgKind::kIdent;
        a.name = t.text;
        break;
      }
      case Tok::kBool:
        a.kind = ArgKind::kConst;
        a.constant = Value::boolean(t.text == "true");
        break;
      case Tok::kNil:
        a.kind = ArgKind::kNil;
        break;
      case Tok::kString:
      case Tok::kRawString: {
        std::string s;
        if (!unquote(t.text, s)) {
          fail(t.line, "invalid syntax");
          return false;
        }
        a.kind = ArgKind::kConst;
        a.constant = Value::string(std::move(s));
        break;
      }
      case Tok::kChar: {
        std::string s;
        if (!unquote(t.text, s) || s.empty()) {
          fail(t.line, "malformed character constant: " + t.text);
          return false;
        }
        uint32_t r = 0;
        const int n = decode_rune(s, 0, r);
        if (static_cast<std::size_t>(n) != s.size()) {
          fail(t.line, "malformed character constant: " + t.text);
          return false;
        }
        a.kind = ArgKind::kConst;
        a.constant = Value::integer(r);
        break;
      }
      case Tok::kNumber: {
        if (t.text.back() == 'i') {
          fail(t.line, "not supported in-process: complex number " + t.text);
          return false;
        }
        Value v;
        if (!parse_number(t.text, v)) {
          fail(t.line, "illegal number syntax: " + go_quote(t.text));
          return false;
        }
        a.kind = ArgKind::kConst;
        a.constant = v;
        break;
      }
      case Tok::kLeftParen: {
        if (++depth_ > kMaxDepth) {
          fail(t.line, "template nested too deeply");
          return false;
        }
        auto p = std::make_shared<Pipe>();
        const bool was = in_paren_;
        in_paren_ = true;
        const bool ok = parse_pipeline(*p, "parenthesized pipeline", t.line, false);
        in_paren_ = was;
        --depth_;
        if (!ok) return false;
        a.kind = ArgKind::kPipe;
        a.text = "(" + p->text + ")";
        a.pipe = std::move(p);
        break;
      }
      case Tok::kRightDelim:
      case Tok::kEOF:
        unexpected(t, "command");
        return false;
      default:
        unexpected(t, "operand");
        return false;
    }
    // field chain directly attached
    while (peek_raw().kind == Tok::kField) {
      const Token f = peek_raw();
      ++ti_;
      if (a.kind == ArgKind::kConst || a.kind == ArgKind::kNil || a.kind == ArgKind::kIdent ||
          a.kind == ArgKind::kDot) {
        fail(f.line, "unexpected . after term " + go_quote(a.text));
        return false;
      }
      if (a.err_pos == a.pos && ti_ > 0) a.err_pos = f.pos;
      a.fields.push_back(f.text.substr(1));
      a.text += f.text;
    }
    return true;
  }
};

// ============================================================================================
// Execution
// ============================================================================================

struct ExecError {
  std::string message;
};

enum class Flow : uint8_t { kNormal, kBreak, kContinue };

// Nested {{template}} calls (Go allows 100000; vigil's stack is the bound).
constexpr int kMaxTemplateDepth = 100;

class Exec {
 public:
  Exec(const Program& prog, const TemplateData& data) : prog_(prog), data_(data) {
    root_.kind = Kind::kData;
  }
  Exec(const Program& prog, const TemplateData& data, Value root)
      : prog_(prog), data_(data), root_(std::move(root)) {}

  detail::ParseResult<std::string> run() {
    vars_.push_back({"$", root_});
    std::string err;
    walk_list(prog_.root, root_, err);
    if (!err.empty()) return detail::ParseResult<std::string>::fail(err);
    return detail::ParseResult<std::string>::ok(std::move(out_));
  }

 private:
  const Program& prog_;
  const TemplateData& data_;
  Value root_;
  std::string out_;
  std::vector<std::pair<std::string, Value>> vars_;
  std::size_t steps_ = 0;

  // The program whose nodes run (the library's, inside one of its templates), and the name of
  // the template executing (Go's "executing \"name\"").
  const Program* cur_ = &prog_;
  std::string exec_name_ = prog_.name;
  int template_depth_ = 0;

  std::string err_at(std::size_t pos, const std::string& ctx, const std::string& msg) const {
    std::string loc = cur_->name;
    if (pos <= cur_->source.size()) {
      // Go's ErrorContext: 1-based line, 0-based byte column
      const std::string_view before(cur_->source.data(), pos);
      const std::size_t nl = before.rfind('\n');
      const std::size_t col = nl == std::string_view::npos ? pos : pos - nl - 1;
      const int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
      loc += ":" + std::to_string(line) + ":" + std::to_string(col);
    }
    return "template: " + loc + ": executing \"" + exec_name_ + "\" at <" + ctx + ">: " + msg;
  }
  std::string limit_error(const std::string& msg) const {
    return "template: " + prog_.name + ": " + msg;
  }

  bool step(std::string& err, const Pipe* /*p*/) {
    if (++steps_ > kMaxSteps) {
      err = limit_error("template execution exceeded " + std::to_string(kMaxSteps) + " steps");
      return false;
    }
    return true;
  }

  bool write(std::string_view s, std::string& err, const Pipe* /*p*/) {
    if (out_.size() + s.size() > kMaxOutput) {
      err = limit_error("template output exceeds " + std::to_string(kMaxOutput) + " bytes");
      return false;
    }
    out_.append(s);
    return true;
  }

  Value lookup_var(const std::string& name) const {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == name) return it->second;
    }
    return {};
  }
  bool set_var(const std::string& name, Value v) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == name) {
        it->second = std::move(v);
        return true;
      }
    }
    return false;
  }

  Flow walk_list(const std::vector<Node>& list, const Value& dot, std::string& err) {
    for (const Node& n : list) {
      const Flow f = walk(n, dot, err);
      if (!err.empty()) return Flow::kNormal;
      if (f != Flow::kNormal) return f;
    }
    return Flow::kNormal;
  }

  Flow walk(const Node& n, const Value& dot, std::string& err) {
    if (!step(err, nullptr)) return Flow::kNormal;
    switch (n.kind) {
      case NodeKind::kText:
        write(n.text, err, nullptr);
        return Flow::kNormal;
      case NodeKind::kBreak:
        return Flow::kBreak;
      case NodeKind::kContinue:
        return Flow::kContinue;
      case NodeKind::kTemplate:
        call_template(n, dot, err);
        return Flow::kNormal;
      case NodeKind::kAction: {
        Value v;
        if (!eval_pipe(n.pipe, dot, v, err)) return Flow::kNormal;
        if (n.pipe.decl.empty())
          write(v.kind == Kind::kNil ? "<no value>" : to_text(v), err, &n.pipe);
        return Flow::kNormal;
      }
      case NodeKind::kIf:
      case NodeKind::kWith: {
        const std::size_t mark = vars_.size();
        Value v;
        if (!eval_pipe(n.pipe, dot, v, err)) return Flow::kNormal;
        Flow f = Flow::kNormal;
        if (truth(v)) {
          f = walk_list(n.list, n.kind == NodeKind::kWith ? v : dot, err);
        } else {
          f = walk_list(n.else_list, dot, err);
        }
        vars_.resize(mark);
        return f;
      }
      case NodeKind::kRange: {
        const std::size_t mark = vars_.size();
        Value v;
        Pipe p = n.pipe;  // evaluate without the declarations
        p.decl.clear();
        if (!eval_pipe(p, dot, v, err)) return Flow::kNormal;
        std::vector<std::pair<Value, Value>> items;
        if (v.kind == Kind::kStrMap) {
          if (v.smap) {
            for (const auto& [k, x] : *v.smap)
              items.emplace_back(Value::string(k), Value::string(x));
          }
        } else if (v.kind == Kind::kAnyMap) {
          if (v.amap) {
            for (const auto& [k, x] : *v.amap) items.emplace_back(Value::string(k), x);
          }
        } else if (v.kind == Kind::kList) {
          if (v.list) {
            for (std::size_t k = 0; k < v.list->size(); ++k) {
              items.emplace_back(Value::integer(static_cast<int64_t>(k)), (*v.list)[k]);
            }
          }
        } else if (v.kind != Kind::kNil) {
          // Go reports it at the node evaluated last (its s.at())
          err = err_at(last_pos_, last_text_, "range can't iterate over " + to_text(v));
          return Flow::kNormal;
        }
        if (items.empty()) {
          const Flow f = walk_list(n.else_list, dot, err);
          vars_.resize(mark);
          return f;
        }
        for (auto& [k, x] : items) {
          if (!step(err, &n.pipe)) return Flow::kNormal;
          const std::size_t inner = vars_.size();
          bool ok = true;
          if (n.pipe.decl.size() == 1) {
            ok = declare(n.pipe, 0, x, err);
          } else if (n.pipe.decl.size() == 2) {
            ok = declare(n.pipe, 0, k, err) && declare(n.pipe, 1, x, err);
          }
          if (!ok) return Flow::kNormal;
          const Flow f = walk_list(n.list, x, err);
          vars_.resize(inner);
          if (!err.empty()) return Flow::kNormal;
          if (f == Flow::kBreak) break;
        }
        vars_.resize(mark);
        return Flow::kNormal;
      }
    }
    return Flow::kNormal;
  }

  // {{template "name" pipeline}}: the named template with the pipeline's value as dot and
  // only $ defined.
  void call_template(const Node& n, const Value& dot, std::string& err) {
    const Program* owner = &prog_;
    auto it = prog_.defines.find(n.text);
    if (it == prog_.defines.end() && prog_.library) {
      owner = prog_.library.get();
      it = owner->defines.find(n.text);
    }
    if (it == owner->defines.end()) {
      err = err_at(n.pos, n.label, "template " + go_quote(n.text) + " not defined");
      return;
    }
    if (template_depth_ >= kMaxTemplateDepth) {
      err = err_at(n.pos, n.label,
                   "exceeded maximum template depth (" + std::to_string(kMaxTemplateDepth) + ")");
      return;
    }
    Value v;
    if (!n.pipe.cmds.empty() && !eval_pipe(n.pipe, dot, v, err)) return;
    std::vector<std::pair<std::string, Value>> saved_vars = {{"$", v}};
    std::swap(saved_vars, vars_);
    const Program* saved_cur = cur_;
    std::string saved_name = n.text;
    std::swap(saved_name, exec_name_);
    cur_ = owner;
    ++template_depth_;
    walk_list(it->second, v, err);
    --template_depth_;
    cur_ = saved_cur;
    std::swap(saved_name, exec_name_);
    std::swap(saved_vars, vars_);
  }

  bool declare(const Pipe& p, std::size_t i, Value v, std::string& err) {
    if (p.assign) {
      if (!set_var(p.decl[i], std::move(v))) {
        // Go reports it at the node evaluated last: the pipeline's last operand
        const Arg& last = p.cmds.back().args.back();
        err = err_at(last.err_pos, last.text, "undefined variable: " + p.decl[i]);
        return false;
      }
    } else {
      vars_.emplace_back(p.decl[i], std::move(v));
    }
    return true;
  }

  bool eval_pipe(const Pipe& p, const Value& dot, Value& out, std::string& err) {
    std::optional<Value> prev;
    for (const Command& c : p.cmds) {
      Value v;
      if (!eval_command(p, c, dot, prev, v, err)) return false;
      prev = std::move(v);
    }
    out = prev ? *prev : Value{};
    for (std::size_t i = 0; i < p.decl.size(); ++i) {
      if (!declare(p, i, out, err)) return false;
    }
    return true;
  }

  bool field(const Pipe& p, const Arg& a, Value& v, const std::string& name, std::string& err) {
    if (method_arity(v, name) >= 0) {
      Value recv = std::move(v);
      return invoke_method(p, a, recv, name, {}, {}, std::nullopt, v, err);
    }
    switch (v.kind) {
      case Kind::kStruct: {
        const Value* f = v.st ? v.st->find(name) : nullptr;
        if (f == nullptr) {
          err = node_err(a, "can't evaluate field " + name + " in type " + type_name(v));
          return false;
        }
        Value x = *f;
        v = std::move(x);
        return true;
      }
      case Kind::kData:
        if (name == "Labels" || name == "ExternalLabels") {
          const StrMap& m = name == "Labels" ? data_.labels : data_.external_labels;
          Value r;
          r.kind = Kind::kStrMap;
          r.smap = std::shared_ptr<const StrMap>(std::shared_ptr<const StrMap>{}, &m);
          v = std::move(r);
          return true;
        }
        if (name == "ExternalURL") {
          v = Value::string(data_.external_url);
          return true;
        }
        if (name == "Value") {
          v = Value::number(data_.value);
          return true;
        }
        err = node_err(a, "can't evaluate field " + name + " in type " + type_name(v));
        return false;
      case Kind::kStrMap: {
        auto it = v.smap ? v.smap->find(name) : StrMap::const_iterator{};
        v = Value::string(v.smap && it != v.smap->end() ? it->second : std::string());
        return true;
      }
      case Kind::kAnyMap: {
        if (v.amap) {
          auto it = v.amap->find(name);
          if (it != v.amap->end()) {
            Value x = it->second;
            v = std::move(x);
            return true;
          }
        }
        v = Value{};
        return true;
      }
      case Kind::kNil:
        err = node_err(a, "nil pointer evaluating interface {}." + name);
        return false;
      default:
        err = node_err(a, "can't evaluate field " + name + " in type " + type_name(v));
        return false;
    }
  }

  // An error of the field chain of `a`: at `a`, or, for a parenthesized pipeline, at the node
  // Go evaluated last (its s.at()).
  std::string node_err(const Arg& a, const std::string& msg) const {
    if (a.kind == ArgKind::kPipe) return err_at(last_pos_, last_text_, msg);
    return err_at(a.err_pos, a.text, msg);
  }

  // Alertmanager's methods (template.KV, template.Alerts, template.Pairs, time.Time): the
  // number of arguments `recv.name` takes, or -1 when it has no such method.
  static int method_arity(const Value& recv, const std::string& name) {
    if (recv.kind == Kind::kStrMap && recv.tag == Tag::kKV) {
      if (name == "SortedPairs" || name == "Names" || name == "Values") return 0;
      if (name == "Remove") return 1;
    } else if (recv.kind == Kind::kList && recv.tag == Tag::kAlerts) {
      if (name == "Firing" || name == "Resolved") return 0;
    } else if (recv.kind == Kind::kList && recv.tag == Tag::kPairs) {
      if (name == "Names" || name == "Values") return 0;
    } else if (recv.kind == Kind::kTime && recv.tag == Tag::kGoTime) {
      if (name == "Format") return 1;
      if (name == "Unix" || name == "UnixMilli" || name == "IsZero" || name == "UTC" ||
          name == "String" || name == "Year" || name == "YearDay" || name == "Day" ||
          name == "Hour" || name == "Minute" || name == "Second" || name == "Nanosecond") {
        return 0;
      }
    }
    return -1;
  }

  static Value sorted_pairs(const Value& kv) {
    std::vector<Value> pairs;
    auto add = [&](const std::string& k, const std::string& x) {
      auto st = std::make_shared<Struct>();
      st->fields = {{"Name", Value::string(k)}, {"Value", Value::string(x)}};
      Value pv;
      pv.kind = Kind::kStruct;
      pv.tag = Tag::kPair;
      pv.st = std::move(st);
      pairs.push_back(std::move(pv));
    };
    if (kv.smap) {
      auto an = kv.smap->find("alertname");
      if (an != kv.smap->end()) add(an->first, an->second);
      for (const auto& [k, x] : *kv.smap) {
        if (k != "alertname") add(k, x);
      }
    }
    return make_list(Tag::kPairs, std::move(pairs));
  }

  static Value pair_column(const Value& pairs, bool names) {
    std::vector<Value> out;
    if (pairs.list) {
      for (const Value& pv : *pairs.list) {
        out.push_back(pv.st->fields[names ? 0 : 1].second);
      }
    }
    return make_list(Tag::kStrings, std::move(out));
  }

  // Calls the method `name` of `recv` with the arguments `nodes` (evaluated here) and `final`
  // (the piped value), or with `values` when nodes is empty and values is not.
  bool invoke_method(const Pipe& p, const Arg& a, const Value& recv, const std::string& name,
                     const std::vector<const Arg*>& nodes, std::vector<Value> values,
                     const std::optional<Value>& final, Value& out, std::string& err,
                     const Value* dot = nullptr) {
    const int want = method_arity(recv, name);
    const std::string count_err_ctx = a.kind == ArgKind::kPipe ? last_text_ : a.text;
    const std::size_t count_err_pos = a.kind == ArgKind::kPipe ? last_pos_ : a.err_pos;
    std::vector<Value> args = std::move(values);
    std::vector<const Arg*> arg_nodes;
    std::pair<std::size_t, std::string> first_last{last_pos_, last_text_};
    for (const Arg* n : nodes) {
      Value x;
      if (!eval_arg(p, *n, dot ? *dot : root_, x, err)) return false;
      if (arg_nodes.empty()) first_last = {last_pos_, last_text_};
      args.push_back(std::move(x));
      arg_nodes.push_back(n);
    }
    if (final) {
      args.push_back(*final);
      arg_nodes.push_back(nullptr);
    }
    if (static_cast<int>(args.size()) != want) {
      err = err_at(count_err_pos, count_err_ctx,
                   "wrong number of args for " + name + ": want " + std::to_string(want) + " got " +
                       std::to_string(args.size()));
      return false;
    }
    // the argument's type: Remove takes a []string, Format a string
    if (want == 1) {
      const bool need_list = name == "Remove";
      const Value& x = args[0];
      const bool ok = need_list ? (x.kind == Kind::kList && x.tag == Tag::kStrings)
                                : (x.kind == Kind::kString && x.tag == Tag::kPlain);
      if (!ok) {
        const std::string type = need_list ? "[]string" : "string";
        const Arg* n = arg_nodes[0];
        if (n != nullptr && (n->kind == ArgKind::kConst || n->kind == ArgKind::kNil)) {
          if (n->kind == ArgKind::kNil && need_list) {
            args[0] = make_list(Tag::kStrings, {});  // a nil []string
          } else if (need_list || n->kind == ArgKind::kNil) {
            err = err_at(n->pos, n->text,
                         n->kind == ArgKind::kNil
                             ? "cannot assign nil to " + type
                             : "can't handle " + n->text + " for arg of type " + type);
            return false;
          } else {
            err = err_at(n->pos, n->text, "expected string; found " + n->text);
            return false;
          }
        } else {
          const bool last = n == nullptr || n->kind == ArgKind::kPipe;
          const std::size_t pos = last ? first_last.first : n->err_pos;
          const std::string& text = last ? first_last.second : n->text;
          err =
              err_at(pos, text, "wrong type for value; expected " + type + "; got " + type_name(x));
          return false;
        }
      }
    }
    if (recv.kind == Kind::kStrMap) {
      if (name == "SortedPairs") {
        out = sorted_pairs(recv);
      } else if (name == "Names" || name == "Values") {
        out = pair_column(sorted_pairs(recv), name == "Names");
      } else {  // Remove
        StrMap m = recv.smap ? *recv.smap : StrMap{};
        if (args[0].list) {
          for (const Value& k : *args[0].list) m.erase(k.s);
        }
        out = make_kv(std::move(m));
      }
      return true;
    }
    if (recv.kind == Kind::kList && recv.tag == Tag::kAlerts) {
      std::vector<Value> sel;
      const std::string want_status = name == "Firing" ? "firing" : "resolved";
      if (recv.list) {
        for (const Value& al : *recv.list) {
          const Value* st = al.st ? al.st->find("Status") : nullptr;
          if (st != nullptr && st->s == want_status) sel.push_back(al);
        }
      }
      out = make_list(Tag::kAlertSlice, std::move(sel));
      return true;
    }
    if (recv.kind == Kind::kList) {  // Pairs
      out = pair_column(recv, name == "Names");
      return true;
    }
    // time.Time
    const Civil c = civil(recv.i, recv.nsec);
    if (name == "Format") {
      out = Value::string(go_time_format(recv.i, recv.nsec, args[0].s));
    } else if (name == "Unix") {
      out = Value::integer(recv.i);
    } else if (name == "UnixMilli") {
      out = Value::integer(recv.i * 1000 + recv.nsec / 1'000'000);
    } else if (name == "IsZero") {
      out = Value::boolean(recv.i == kGoZeroTime.unix_seconds && recv.nsec == 0);
    } else if (name == "UTC") {
      out = recv;
    } else if (name == "String") {
      out = Value::string(recv.s);
    } else if (name == "Year") {
      out = Value::integer(c.year);
    } else if (name == "YearDay") {
      out = Value::integer(c.yday);
    } else if (name == "Day") {
      out = Value::integer(c.day);
    } else if (name == "Hour") {
      out = Value::integer(c.hour);
    } else if (name == "Minute") {
      out = Value::integer(c.minute);
    } else if (name == "Second") {
      out = Value::integer(c.second);
    } else {
      out = Value::integer(c.nsec);
    }
    return true;
  }

  // The last field of a chain called with arguments: a method, or Go's error.
  bool invoke_with_args(const Pipe& p, const Command& c, const Value& dot,
                        const std::optional<Value>& final, Value& out, std::string& err) {
    const Arg& first = c.args[0];
    Value recv;
    if (!eval_arg(p, first, dot, recv, err, first.fields.size() - 1)) return false;
    const std::string& name = first.fields.back();
    if (method_arity(recv, name) >= 0) {
      std::vector<const Arg*> nodes;
      for (std::size_t i = 1; i < c.args.size(); ++i) nodes.push_back(&c.args[i]);
      return invoke_method(p, first, recv, name, nodes, {}, final, out, err, &dot);
    }
    if (recv.kind == Kind::kStruct || recv.kind == Kind::kData) {
      const bool has = recv.kind == Kind::kData ? (name == "Labels" || name == "ExternalLabels" ||
                                                   name == "ExternalURL" || name == "Value")
                                                : (recv.st && recv.st->find(name) != nullptr);
      if (has) {
        err = node_err(first, name + " has arguments but cannot be invoked as function");
        return false;
      }
      err = node_err(first, "can't evaluate field " + name + " in type " + type_name(recv));
      return false;
    }
    if (recv.kind == Kind::kStrMap || recv.kind == Kind::kAnyMap) {
      err = node_err(first, name + " is not a method but has arguments");
      return false;
    }
    Value tmp = recv;
    if (field(p, first, tmp, name, err)) {
      err = node_err(first, name + " is not a method but has arguments");
    }
    return false;
  }

  bool eval_arg(const Pipe& p, const Arg& a, const Value& dot, Value& v, std::string& err,
                std::size_t nfields = std::string::npos) {
    if (!step(err, &p)) return false;
    if (a.kind != ArgKind::kPipe) {
      last_pos_ = a.err_pos;
      last_text_ = a.text;
    }
    switch (a.kind) {
      case ArgKind::kDot:
        v = dot;
        break;
      case ArgKind::kField:
        v = dot;
        break;
      case ArgKind::kVariable:
        v = lookup_var(a.name);
        break;
      case ArgKind::kConst:
        v = a.constant;
        break;
      case ArgKind::kNil:
        v = Value{};
        break;
      case ArgKind::kPipe:
        if (!eval_pipe(*a.pipe, dot, v, err)) return false;
        break;
      case ArgKind::kIdent: {
        // a function used as an argument: called without arguments
        Command c;
        c.args.push_back(a);
        return call(p, c, dot, std::nullopt, v, err);
      }
    }
    const std::size_t n = std::min(nfields, a.fields.size());
    for (std::size_t k = 0; k < n; ++k) {
      if (!field(p, a, v, a.fields[k], err)) return false;
    }
    return true;
  }

  bool eval_command(const Pipe& p, const Command& c, const Value& dot,
                    const std::optional<Value>& final, Value& out, std::string& err) {
    const Arg& first = c.args[0];
    if (first.kind == ArgKind::kIdent) return call(p, c, dot, final, out, err);
    if (c.args.size() > 1 || final) {
      if (!first.fields.empty()) {
        return invoke_with_args(p, c, dot, final, out, err);
      } else {
        err = err_at(first.pos, first.text, "can't give argument to non-function " + first.text);
      }
      return false;
    }
    return eval_arg(p, first, dot, out, err);
  }

  // ---- functions
  // The argument nodes of a call (null for the piped value), for Go's error positions.
  std::vector<const Arg*> arg_nodes_;
  // Go's s.at(): the node evaluated last, where Go reports errors of a field chain on a
  // parenthesized pipeline ("(index .Alerts 0).Foo" fails "at <0>").
  std::size_t last_pos_ = 0;
  std::string last_text_;
  // The node evaluated last when each argument of the current call was evaluated (the piped
  // value: after all of them), where Go reports a wrong argument type of a pipeline.
  std::vector<std::pair<std::size_t, std::string>> arg_last_;

  // Where Go reports a wrong type of argument i of the current call.
  std::string arg_type_err(std::size_t i, const std::string& msg) const {
    const Arg* a = i < arg_nodes_.size() ? arg_nodes_[i] : nullptr;
    if ((a == nullptr || a->kind == ArgKind::kPipe) && i < arg_last_.size()) {
      return err_at(arg_last_[i].first, arg_last_[i].second, msg);
    }
    if (a != nullptr) return err_at(a->err_pos, a->text, msg);
    return err_at(call_pos_, call_text_, msg);
  }
  std::size_t call_pos_ = 0;
  std::string call_text_;

  // Simple case mapping of one rune (Go's unicode.ToUpper / ToLower) for Latin-1, Latin
  // Extended-A, Greek and Cyrillic; other runes are unchanged.
  static uint32_t rune_case(uint32_t r, bool upper) {
    if (r < 0x80) {
      if (upper && r >= 'a' && r <= 'z') return r - 32;
      if (!upper && r >= 'A' && r <= 'Z') return r + 32;
      return r;
    }
    if (upper) {
      if (r == 0xB5) return 0x39C;
      if (r == 0xFF) return 0x178;
      if (r >= 0xE0 && r <= 0xFE && r != 0xF7) return r - 32;
      if (r >= 0x100 && r <= 0x17F && r != 0x130 && r != 0x131 && r != 0x138 && r != 0x149 &&
          r != 0x17F) {
        const bool odd_lower = (r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E);
        if (odd_lower ? (r % 2 == 0) : (r % 2 == 1)) return r - 1;
        return r;
      }
      if (r == 0x131) return 'I';
      if (r == 0x17F) return 'S';
      if (r >= 0x3B1 && r <= 0x3C9 && r != 0x3C2) return r - 32;
      if (r == 0x3C2) return 0x3A3;
      if (r >= 0x430 && r <= 0x44F) return r - 32;
      if (r >= 0x450 && r <= 0x45F) return r - 80;
      return r;
    }
    if (r >= 0xC0 && r <= 0xDE && r != 0xD7) return r + 32;
    if (r == 0x178) return 0xFF;
    if (r >= 0x100 && r <= 0x17F && r != 0x130 && r != 0x131 && r != 0x138 && r != 0x149 &&
        r != 0x17F) {
      const bool odd_lower = (r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E);
      if (odd_lower ? (r % 2 == 1) : (r % 2 == 0)) return r + 1;
      return r;
    }
    if (r == 0x130) return 'i';
    if (r >= 0x391 && r <= 0x3A9 && r != 0x3A2) return r + 32;
    if (r >= 0x410 && r <= 0x42F) return r + 32;
    if (r >= 0x400 && r <= 0x40F) return r + 80;
    return r;
  }

  static bool rune_is_letter(uint32_t r) {
    if (r < 0x80) return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
    return r != 0xD7 && r != 0xF7 && r >= 0xAA && r != 0xFFFD && !(r >= 0x2000 && r <= 0x2BFF) &&
           !(r >= 0x3000 && r <= 0x303F);
  }

  // strings.ToUpper / ToLower (see rune_case for the runes covered).
  static std::string map_case(const std::string& s, bool upper) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
      uint32_t r = 0;
      const int n = decode_rune(s, i, r);
      if (r == 0xFFFD && n == 1) {
        out.push_back(s[i]);
      } else {
        append_utf8(out, rune_case(r, upper));
      }
      i += static_cast<std::size_t>(n);
    }
    return out;
  }

  // golang.org/x/text cases.Title(language.AmericanEnglish): in every word the first letter
  // is upper-cased and the others lower-cased. Words are runs of letters, digits and `_`,
  // joined by `'`, `.`, `:` between letters (Unicode word boundaries, simplified).
  static std::string cases_title(const std::string& s) {
    std::vector<uint32_t> runes;
    std::vector<int> lens;
    for (std::size_t i = 0; i < s.size();) {
      uint32_t r = 0;
      const int n = decode_rune(s, i, r);
      runes.push_back(r == 0xFFFD && n == 1 ? 0xFFFFFFFF : r);
      lens.push_back(n);
      i += static_cast<std::size_t>(n);
    }
    auto word_char = [&](uint32_t r) {
      return r != 0xFFFFFFFF && (rune_is_letter(r) || (r >= '0' && r <= '9') || r == '_');
    };
    std::string out;
    bool in_word = false, seen_letter = false;
    std::size_t byte = 0;
    for (std::size_t k = 0; k < runes.size(); ++k) {
      const uint32_t r = runes[k];
      const std::size_t n = static_cast<std::size_t>(lens[k]);
      bool joined = false;
      if (!word_char(r) && in_word && (r == '\'' || r == '.' || r == ':' || r == 0x2019) && k > 0 &&
          k + 1 < runes.size() && rune_is_letter(runes[k - 1]) && rune_is_letter(runes[k + 1])) {
        joined = true;
      }
      if (word_char(r) || joined) {
        if (!in_word) seen_letter = false;
        in_word = true;
        if (rune_is_letter(r)) {
          append_utf8(out, rune_case(r, !seen_letter));
          seen_letter = true;
        } else {
          out.append(s, byte, n);
        }
      } else {
        in_word = false;
        out.append(s, byte, n);
      }
      byte += n;
    }
    return out;
  }

  // html/template's htmlReplacementTable (amp=false: htmlNormReplacementTable, for content
  // already HTML).
  static std::string html_escape(const std::string& s, bool amp) {
    std::string r;
    r.reserve(s.size());
    for (char ch : s) {
      switch (ch) {
        case '\0':
          r += "\xEF\xBF\xBD";
          break;
        case '"':
          r += "&#34;";
          break;
        case '&':
          r += amp ? "&amp;" : "&";
          break;
        case '\'':
          r += "&#39;";
          break;
        case '+':
          r += "&#43;";
          break;
        case '<':
          r += "&lt;";
          break;
        case '>':
          r += "&gt;";
          break;
        default:
          r.push_back(ch);
      }
    }
    return r;
  }

  // html/template's isSafeURL: no scheme, or http, https, mailto (any case).
  static bool safe_url(const std::string& s) {
    const std::size_t colon = s.find(':');
    if (colon == std::string::npos) return true;
    const std::string scheme = s.substr(0, colon);
    if (scheme.find('/') != std::string::npos) return true;
    std::string lower = scheme;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return lower == "http" || lower == "https" || lower == "mailto";
  }

  // html/template's urlNormalizer: percent-encodes what is neither reserved nor unreserved
  // (keeping valid %xx escapes).
  static std::string normalize_url(const std::string& s) {
    static const char* hex = "0123456789abcdef";
    auto is_hex = [](char ch) {
      return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
    };
    std::string r;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char ch = s[i];
      const bool keep =
          std::isalnum(static_cast<unsigned char>(ch)) ||
          std::string_view("!#$&*+,/:;=?@[]-._~").find(ch) != std::string_view::npos ||
          (ch == '%' && i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2]));
      if (keep) {
        r.push_back(ch);
      } else {
        const auto u = static_cast<unsigned char>(ch);
        r.push_back('%');
        r.push_back(hex[u >> 4]);
        r.push_back(hex[u & 15]);
      }
    }
    return r;
  }

  // Go's slice of a slice (2 or 3 indexes; the capacity is the length here).
  bool slice_list(const std::vector<Value>& args, std::size_t fn_pos, const std::string& text,
                  Value& out, std::string& err) {
    const Value& l = args[0];
    const int64_t size = l.list ? static_cast<int64_t>(l.list->size()) : 0;
    int64_t idx[3] = {0, size, size};
    if (args.size() > 4) {
      err =
          err_at(fn_pos, text,
                 "error calling slice: too many slice indexes: " + std::to_string(args.size() - 1));
      return false;
    }
    for (std::size_t i = 1; i < args.size(); ++i) {
      if (args[i].kind != Kind::kInt) {
        err =
            err_at(fn_pos, text,
                   "error calling slice: cannot index slice/array with type " + type_name(args[i]));
        return false;
      }
      idx[i - 1] = args[i].i;
      if (idx[i - 1] < 0 || idx[i - 1] > size) {
        err = err_at(fn_pos, text,
                     "error calling slice: index out of range: " + std::to_string(idx[i - 1]));
        return false;
      }
    }
    if (idx[0] > idx[1] || (args.size() == 4 && idx[1] > idx[2])) {
      const int bad = idx[0] > idx[1] ? 0 : 1;
      err = err_at(fn_pos, text,
                   "error calling slice: invalid slice index: " + std::to_string(idx[bad]) + " > " +
                       std::to_string(idx[bad + 1]));
      return false;
    }
    std::vector<Value> items;
    for (int64_t k = idx[0]; k < idx[1]; ++k)
      items.push_back((*l.list)[static_cast<std::size_t>(k)]);
    out = make_list(l.tag, std::move(items));
    return true;
  }

  // Alertmanager's functions (template/template.go DefaultFuncs) that differ from or add to
  // Prometheus' ones; `handled` tells whether fn was one of them.
  template <typename NArgs, typename StrFn>
  bool call_alertmanager(const std::string& fn, const std::vector<Value>& args,
                         std::size_t /*fn_pos*/, const std::string& /*text*/, NArgs& nargs,
                         StrFn& str_fn, Value& out, std::string& err, bool& handled) {
    handled = true;
    if (fn == "title") return str_fn([](const std::string& s) { return cases_title(s); });
    if (fn == "toUpper") return str_fn([](const std::string& s) { return map_case(s, true); });
    if (fn == "toLower") return str_fn([](const std::string& s) { return map_case(s, false); });
    if (fn == "safeHtml") {
      if (!str_fn([](const std::string& s) { return s; })) return false;
      out.tag = Tag::kHTML;
      return true;
    }
    if (fn == "stringSlice") {
      std::vector<Value> items;
      for (std::size_t i = 0; i < args.size(); ++i) {
        std::string s;
        if (!want_string(i, args, s, err)) return false;
        items.push_back(Value::string(std::move(s)));
      }
      out = make_list(Tag::kStrings, std::move(items));
      return true;
    }
    if (fn.rfind("_html_template_", 0) == 0) {
      // html/template's stringify: one string as is, else fmt.Sprint of the arguments
      std::string sv;
      const bool html =
          args.size() == 1 && args[0].kind == Kind::kString && args[0].tag == Tag::kHTML;
      if (args.size() == 1 && args[0].kind == Kind::kString) {
        sv = args[0].s;
      } else {
        for (std::size_t i = 0; i < args.size(); ++i) {
          if (i > 0 && args[i].kind != Kind::kString && args[i - 1].kind != Kind::kString) {
            sv += ' ';
          }
          sv += to_text(args[i]);
        }
      }
      if (fn == "_html_template_urlfilter") {
        out = Value::string(safe_url(sv) ? sv : "#ZgotmplZ");
      } else if (fn == "_html_template_urlnormalizer") {
        out = Value::string(normalize_url(sv));
      } else if (html && fn == "_html_template_htmlescaper") {
        out = Value::string(sv);
      } else {
        out = Value::string(html_escape(sv, /*amp=*/!html));
      }
      return true;
    }
    if (fn == "join") {
      if (!nargs(2)) return false;
      std::string sep;
      if (!want_string(0, args, sep, err)) return false;
      const Value& l = args[1];
      if (!(l.kind == Kind::kList && l.tag == Tag::kStrings)) {
        const Arg* a = arg_nodes_.size() > 1 ? arg_nodes_[1] : nullptr;
        if (a != nullptr && a->kind == ArgKind::kConst) {
          err = err_at(a->pos, a->text, "can't handle " + a->text + " for arg of type []string");
        } else if (a != nullptr && a->kind == ArgKind::kNil) {
          out = Value::string("");
          return true;
        } else {
          err = arg_type_err(1, "wrong type for value; expected []string; got " + type_name(l));
        }
        return false;
      }
      std::string r;
      if (l.list) {
        for (std::size_t i = 0; i < l.list->size(); ++i) {
          if (i != 0) r += sep;
          r += (*l.list)[i].s;
          if (r.size() > kMaxOutput) break;
        }
      }
      out = Value::string(std::move(r));
      return true;
    }
    handled = false;
    return true;
  }

  bool want_string(std::size_t i, const std::vector<Value>& args, std::string& s,
                   std::string& err) {
    const Value& v = args[i];
    if (v.kind != Kind::kString || v.tag == Tag::kHTML) {
      const Arg* a = i < arg_nodes_.size() ? arg_nodes_[i] : nullptr;
      if (a != nullptr && a->kind == ArgKind::kConst) {
        err = err_at(a->pos, a->text, "expected string; found " + a->text);
      } else {
        err = arg_type_err(i, "wrong type for value; expected string; got " + type_name(v));
      }
      return false;
    }
    s = v.s;
    return true;
  }

  bool to_float(const Value& v, double& f, std::string& err, const std::string& fn) {
    switch (v.kind) {
      case Kind::kFloat:
        f = v.f;
        return true;
      case Kind::kInt:
        f = static_cast<double>(v.i);
        return true;
      case Kind::kString: {
        if (!go_parse_float(v.s, f)) {
          err = err_at(call_pos_, call_text_,
                       "error calling " + fn + ": strconv.ParseFloat: parsing " + go_quote(v.s) +
                           ": invalid syntax");
          return false;
        }
        return true;
      }
      default:
        err =
            err_at(call_pos_, call_text_,
                   "error calling " + fn + ": can't convert " +
                       (v.kind == Kind::kNil ? std::string("<nil>") : type_name(v)) + " to float");
        return false;
    }
  }

  static std::string regexp_error(const re2::RE2& re) {
    std::string code;
    switch (re.error_code()) {
      case re2::RE2::ErrorMissingParen:
        code = "missing closing )";
        break;
      case re2::RE2::ErrorUnexpectedParen:
        code = "unexpected )";
        break;
      case re2::RE2::ErrorMissingBracket:
        code = "missing closing ]";
        break;
      case re2::RE2::ErrorBadCharRange:
        code = "invalid character class range";
        break;
      case re2::RE2::ErrorBadCharClass:
        code = "invalid character class";
        break;
      case re2::RE2::ErrorRepeatArgument:
        code = "missing argument to repetition operator";
        break;
      case re2::RE2::ErrorRepeatSize:
        code = "invalid repeat count";
        break;
      case re2::RE2::ErrorRepeatOp:
        code = "invalid nested repetition operator";
        break;
      case re2::RE2::ErrorBadEscape:
        code = "invalid escape sequence";
        break;
      case re2::RE2::ErrorBadPerlOp:
        code = "invalid or unsupported Perl syntax";
        break;
      case re2::RE2::ErrorBadNamedCapture:
        code = "invalid named capture";
        break;
      case re2::RE2::ErrorTrailingBackslash:
        code = "trailing backslash at end of expression";
        break;
      case re2::RE2::ErrorBadUTF8:
        code = "invalid UTF-8";
        break;
      default:
        code = re.error();
    }
    return "error parsing regexp: " + code + ": `" + re.error_arg() + "`";
  }

  static std::string go_backquote(const std::string& s) {
    for (char ch : s) {
      if (ch == '`' || (static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7F) {
        return go_quote(s);
      }
    }
    return "`" + s + "`";
  }

  static bool go_parse_float(const std::string& s, double& f) {
    std::string t;
    std::string_view v = s;
    std::string lower;
    for (char c : s)
      lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    std::string_view l = lower;
    bool neg = false;
    if (!l.empty() && (l[0] == '+' || l[0] == '-')) {
      neg = l[0] == '-';
      l.remove_prefix(1);
      v.remove_prefix(1);
    }
    if (l == "inf" || l == "infinity") {
      f = neg ? -INFINITY : INFINITY;
      return true;
    }
    if (l == "nan") {
      f = NAN;
      return true;
    }
    if (v.empty()) return false;
    for (char c : v) {
      if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' ||
            c == 'x' || c == 'X' || c == 'p' || c == 'P' || (c >= 'a' && c <= 'f') ||
            (c >= 'A' && c <= 'F') || c == '_')) {
        return false;
      }
    }
    Value n;
    if (!parse_number(std::string(neg ? "-" : "") + std::string(v), n)) {
      // strconv accepts "1e5", "0x1p-2", ".5", "5."; parse_number covers them; ints too.
      return false;
    }
    f = n.kind == Kind::kInt ? static_cast<double>(n.i) : n.f;
    // octal-looking ints are decimal for ParseFloat
    if (n.kind == Kind::kInt && v.size() > 1 && v[0] == '0' && v[1] >= '0' && v[1] <= '9') {
      f = std::strtod(std::string(s).c_str(), nullptr);
    }
    if (v.find('_') != std::string_view::npos) return false;  // only with a base prefix; rare
    return true;
  }

  static int compare_kind(const Value& v) {
    switch (v.kind) {
      case Kind::kBool:
        return 1;
      case Kind::kInt:
        return 2;
      case Kind::kFloat:
        return 3;
      case Kind::kString:
        return 4;
      default:
        return 0;
    }
  }

  // Go's reflect kind of a value that is not a basic one: 'm' map, 's' slice, 't' struct,
  // 'p' pointer, 0 for basic kinds and nil.
  static char composite_kind(const Value& v) {
    switch (v.kind) {
      case Kind::kStrMap:
      case Kind::kAnyMap:
        return 'm';
      case Kind::kList:
        return 's';
      case Kind::kStruct:
        return v.tag == Tag::kData ? 'p' : 't';
      case Kind::kData:
      case Kind::kTime:
        return 't';
      default:
        return 0;
    }
  }

  // Go's eq (text/template, Go 1.18+) when an operand is neither basic nor nil: false with the
  // error message, or true with `result`.
  static bool eq_composite(const Value& a, const Value& b, bool& result, std::string& why) {
    const char ka = composite_kind(a), kb = composite_kind(b);
    if (ka == 0 || kb == 0) {
      why = "incompatible types for comparison";
      return false;
    }
    if (ka != kb) {
      why = "non-comparable types " + to_text(a) + ": " + type_name(a) + ", " + type_name(b) +
            ": " + to_text(b);
      return false;
    }
    if (ka == 'p') {  // the one *template.Data
      result = true;
      return true;
    }
    // structs: time.Time and template.Pair are comparable, the others hold maps
    const bool comparable =
        b.kind == Kind::kTime || (b.kind == Kind::kStruct && b.tag == Tag::kPair);
    if (ka != 't' || !comparable) {
      why = "non-comparable type " + to_text(b) + ": " + type_name(b);
      return false;
    }
    if (type_name(a) != type_name(b)) {
      result = false;
    } else if (a.kind == Kind::kTime) {
      result = a.s == b.s && a.i == b.i && a.nsec == b.nsec;
    } else {
      result = a.st && b.st && a.st->fields[0].second.s == b.st->fields[0].second.s &&
               a.st->fields[1].second.s == b.st->fields[1].second.s;
    }
    return true;
  }

  // Go's eq/lt: 0 ok, 1 incompatible types, 2 invalid type.
  static int compare(const Value& a, const Value& b, bool less, bool& result) {
    const int ka = compare_kind(a), kb = compare_kind(b);
    if (ka == 0 || kb == 0) {
      if (!less && (a.kind == Kind::kNil || b.kind == Kind::kNil)) {
        result = a.kind == b.kind;
        return 0;
      }
      return 2;
    }
    if (ka != kb) return 1;
    if (less && ka == 1) return 2;
    switch (ka) {
      case 1:
        result = a.b == b.b;
        break;
      case 2:
        result = less ? a.i < b.i : a.i == b.i;
        break;
      case 3:
        result = less ? a.f < b.f : a.f == b.f;
        break;
      default:
        result = less ? a.s < b.s : a.s == b.s;
    }
    return 0;
  }

  bool call(const Pipe& p, const Command& c, const Value& dot, const std::optional<Value>& final,
            Value& out, std::string& err) {
    const std::string& fn = c.args[0].name;
    const std::size_t fn_pos = c.pos;
    last_pos_ = c.args[0].pos;
    last_text_ = c.args[0].name;
    // and / or are lazy
    if (fn == "and" || fn == "or") {
      const std::size_t n = c.args.size() - 1 + (final ? 1 : 0);
      if (n < 1) {
        err = err_at(fn_pos, c.text, "wrong number of args for " + fn + ": want at least 1 got 0");
        return false;
      }
      for (std::size_t i = 1; i <= n; ++i) {
        Value v;
        if (i < c.args.size()) {
          if (!eval_arg(p, c.args[i], dot, v, err)) return false;
        } else {
          v = *final;
        }
        out = v;
        if (truth(v) == (fn == "or")) return true;
      }
      return true;
    }
    std::vector<Value> args;
    std::vector<std::pair<std::size_t, std::string>> arg_last;
    for (std::size_t i = 1; i < c.args.size(); ++i) {
      Value v;
      if (!eval_arg(p, c.args[i], dot, v, err)) return false;
      args.push_back(std::move(v));
      arg_last.emplace_back(last_pos_, last_text_);
    }
    if (final) {
      args.push_back(*final);
      arg_last.emplace_back(last_pos_, last_text_);
    }
    arg_last_ = std::move(arg_last);
    arg_nodes_.clear();
    for (std::size_t i = 1; i < c.args.size(); ++i) arg_nodes_.push_back(&c.args[i]);
    call_pos_ = fn_pos;
    call_text_ = c.text;
    auto nargs = [&](std::size_t want) {
      if (args.size() != want) {
        err = err_at(fn_pos, c.text,
                     "wrong number of args for " + fn + ": want " + std::to_string(want) + " got " +
                         std::to_string(args.size()));
        return false;
      }
      return true;
    };
    auto str_fn = [&](auto&& f) {
      if (!nargs(1)) return false;
      std::string s;
      if (!want_string(0, args, s, err)) return false;
      out = Value::string(f(s));
      return true;
    };
    auto float_fn = [&](auto&& f) {
      if (!nargs(1)) return false;
      double d = 0;
      if (!to_float(args[0], d, err, fn)) return false;
      out = Value::string(f(d));
      return true;
    };

    if (fn == "not") {
      if (!nargs(1)) return false;
      out = Value::boolean(!truth(args[0]));
      return true;
    }
    if (fn == "len") {
      if (!nargs(1)) return false;
      const Value& v = args[0];
      if (v.kind == Kind::kString) {
        out = Value::integer(static_cast<int64_t>(v.s.size()));
      } else if (v.kind == Kind::kStrMap) {
        out = Value::integer(v.smap ? static_cast<int64_t>(v.smap->size()) : 0);
      } else if (v.kind == Kind::kAnyMap) {
        out = Value::integer(v.amap ? static_cast<int64_t>(v.amap->size()) : 0);
      } else if (v.kind == Kind::kList) {
        out = Value::integer(v.list ? static_cast<int64_t>(v.list->size()) : 0);
      } else {
        err = err_at(fn_pos, c.text, "error calling len: len of type " + type_name(v));
        return false;
      }
      return true;
    }
    if (fn == "index") {
      if (args.empty()) {
        err = err_at(fn_pos, c.text, "wrong number of args for index: want at least 1 got 0");
        return false;
      }
      Value v = args[0];
      for (std::size_t i = 1; i < args.size(); ++i) {
        const Value& k = args[i];
        if (v.kind == Kind::kStrMap || v.kind == Kind::kAnyMap) {
          if (k.kind != Kind::kString) {
            err = err_at(
                fn_pos, c.text,
                "error calling index: value has type " + type_name(k) + "; should be string");
            return false;
          }
          if (v.kind == Kind::kStrMap) {
            std::string r;
            if (v.smap) {
              auto it = v.smap->find(k.s);
              if (it != v.smap->end()) r = it->second;
            }
            v = Value::string(std::move(r));
          } else {
            Value r;
            if (v.amap) {
              auto it = v.amap->find(k.s);
              if (it != v.amap->end()) r = it->second;
            }
            v = std::move(r);
          }
        } else if (v.kind == Kind::kList) {
          if (k.kind != Kind::kInt) {
            err = err_at(fn_pos, c.text,
                         "error calling index: cannot index slice/array with type " + type_name(k));
            return false;
          }
          const int64_t size = v.list ? static_cast<int64_t>(v.list->size()) : 0;
          if (k.i < 0 || k.i >= size) {
            err = err_at(fn_pos, c.text,
                         "error calling index: index out of range: " + std::to_string(k.i));
            return false;
          }
          Value x = (*v.list)[static_cast<std::size_t>(k.i)];
          v = std::move(x);
        } else if (v.kind == Kind::kString) {
          if (k.kind != Kind::kInt) {
            err = err_at(fn_pos, c.text,
                         "error calling index: cannot index slice/array with type " + type_name(k));
            return false;
          }
          if (k.i < 0 || k.i >= static_cast<int64_t>(v.s.size())) {
            err = err_at(fn_pos, c.text,
                         "error calling index: index out of range: " + std::to_string(k.i));
            return false;
          }
          v = Value::integer(static_cast<unsigned char>(v.s[static_cast<std::size_t>(k.i)]));
          v.tag = Tag::kUint8;
        } else if (v.kind == Kind::kNil) {
          err = err_at(fn_pos, c.text, "error calling index: index of untyped nil");
          return false;
        } else {
          err = err_at(fn_pos, c.text,
                       "error calling index: can't index item of type " + type_name(v));
          return false;
        }
      }
      out = std::move(v);
      return true;
    }
    if (fn == "slice") {
      if (args.empty()) {
        err = err_at(fn_pos, c.text, "wrong number of args for slice: want at least 1 got 0");
        return false;
      }
      if (args[0].kind != Kind::kString && args[0].kind != Kind::kList) {
        err = err_at(fn_pos, c.text,
                     "error calling slice: can't slice item of type " + type_name(args[0]));
        return false;
      }
      if (args[0].kind == Kind::kList) return slice_list(args, fn_pos, c.text, out, err);
      const std::string& s = args[0].s;
      if (args.size() > 3) {
        err = err_at(fn_pos, c.text, "error calling slice: cannot 3-index slice a string");
        return false;
      }
      int64_t idx[2] = {0, static_cast<int64_t>(s.size())};
      for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i].kind != Kind::kInt) {
          err = err_at(
              fn_pos, c.text,
              "error calling slice: cannot index slice/array with type " + type_name(args[i]));
          return false;
        }
        idx[i - 1] = args[i].i;
        if (idx[i - 1] < 0 || idx[i - 1] > static_cast<int64_t>(s.size())) {
          err = err_at(fn_pos, c.text,
                       "error calling slice: index out of range: " + std::to_string(idx[i - 1]));
          return false;
        }
      }
      if (idx[0] > idx[1]) {
        err = err_at(fn_pos, c.text,
                     "error calling slice: invalid slice index: " + std::to_string(idx[0]) + " > " +
                         std::to_string(idx[1]));
        return false;
      }
      out = Value::string(
          s.substr(static_cast<std::size_t>(idx[0]), static_cast<std::size_t>(idx[1] - idx[0])));
      return true;
    }
    if (prog_.dialect == Dialect::kAlertmanager) {
      bool handled = false;
      if (!call_alertmanager(fn, args, fn_pos, c.text, nargs, str_fn, out, err, handled)) {
        return false;
      }
      if (handled) return true;
    }
    if (fn == "print" || fn == "println") {
      std::string s;
      for (std::size_t i = 0; i < args.size(); ++i) {
        const bool is_str = args[i].kind == Kind::kString;
        if (i > 0 && (fn == "println" || (!is_str && args[i - 1].kind != Kind::kString))) {
          s += ' ';
        }
        s += to_text(args[i]);
      }
      if (fn == "println") s += '\n';
      out = Value::string(std::move(s));
      return true;
    }
    if (fn == "printf") {
      if (args.empty()) {
        err = err_at(fn_pos, c.text, "wrong number of args for printf: want at least 1 got 0");
        return false;
      }
      std::string f;
      if (!want_string(0, args, f, err)) return false;
      std::vector<Value> rest(args.begin() + 1, args.end());
      out = Value::string(go_sprintf(f, rest));
      return true;
    }
    if (fn == "eq" || fn == "ne" || fn == "lt" || fn == "le" || fn == "gt" || fn == "ge") {
      if (fn == "eq") {
        if (args.size() < 2) {
          err = err_at(fn_pos, c.text, "error calling eq: missing argument for comparison");
          if (args.empty()) {
            err = err_at(fn_pos, c.text, "wrong number of args for eq: want at least 1 got 0");
          }
          return false;
        }
        bool any = false;
        for (std::size_t i = 1; i < args.size(); ++i) {
          bool r = false;
          int rc = compare(args[0], args[i], false, r);
          if (rc == 2) {
            std::string why;
            if (!eq_composite(args[0], args[i], r, why)) {
              err = err_at(fn_pos, c.text, "error calling eq: " + why);
              return false;
            }
            rc = 0;
          }
          if (rc != 0) {
            err = err_at(
                fn_pos, c.text,
                std::string("error calling eq: ") + (rc == 1 ? "incompatible types for comparison"
                                                             : "invalid type for comparison"));
            return false;
          }
          any = any || r;
        }
        out = Value::boolean(any);
        return true;
      }
      if (!nargs(2)) return false;
      bool eq = false, lt = false;
      int rc = compare(args[0], args[1], false, eq);
      if (rc == 2 && fn == "ne") {
        std::string why;
        if (!eq_composite(args[0], args[1], eq, why)) {
          err = err_at(fn_pos, c.text, "error calling ne: " + why);
          return false;
        }
        rc = 0;
      }
      if (rc == 0 && fn != "ne") rc = compare(args[0], args[1], true, lt);
      if (rc != 0) {
        err = err_at(
            fn_pos, c.text,
            "error calling " + fn + ": " +
                (rc == 1 ? "incompatible types for comparison" : "invalid type for comparison"));
        return false;
      }
      bool r = false;
      if (fn == "ne") r = !eq;
      if (fn == "lt") r = lt;
      if (fn == "le") r = lt || eq;
      if (fn == "gt") r = !lt && !eq;
      if (fn == "ge") r = !lt;
      out = Value::boolean(r);
      return true;
    }
    if (fn == "html" || fn == "urlquery") {
      std::string s;
      if (args.size() == 1 && args[0].kind == Kind::kString) {
        s = args[0].s;
      } else {
        for (std::size_t i = 0; i < args.size(); ++i) {  // fmt.Sprint
          if (i > 0 && args[i].kind != Kind::kString && args[i - 1].kind != Kind::kString) {
            s += ' ';
          }
          s += to_text(args[i]);
        }
      }
      std::string r;
      if (fn == "html") {
        for (char ch : s) {
          switch (ch) {
            case '"':
              r += "&#34;";
              break;
            case '\'':
              r += "&#39;";
              break;
            case '&':
              r += "&amp;";
              break;
            case '<':
              r += "&lt;";
              break;
            case '>':
              r += "&gt;";
              break;
            case '\0':
              r += "\xEF\xBF\xBD";
              break;
            default:
              r.push_back(ch);
          }
        }
      } else {
        r = query_escape(s);
      }
      out = Value::string(std::move(r));
      return true;
    }
    if (fn == "args") {
      auto m = std::make_shared<AnyMap>();
      for (std::size_t i = 0; i < args.size(); ++i) (*m)["arg" + std::to_string(i)] = args[i];
      out = Value{};
      out.kind = Kind::kAnyMap;
      out.amap = std::move(m);
      return true;
    }
    if (fn == "title") {
      return str_fn([](const std::string& s) {
        std::string r = s;
        bool prev_sep = true;
        for (char& ch : r) {
          const auto u = static_cast<unsigned char>(ch);
          const bool sep = u < 0x80 && !std::isalnum(u) && ch != '_';
          if (prev_sep && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
          prev_sep = sep;
        }
        return r;
      });
    }
    if (fn == "toUpper" || fn == "toLower") {
      const bool up = fn == "toUpper";
      return str_fn([up](const std::string& s) {
        std::string r = s;
        for (char& ch : r) {
          if (up && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
          if (!up && ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
        }
        return r;
      });
    }
    if (fn == "safeHtml") return str_fn([](const std::string& s) { return s; });
    if (fn == "graphLink" || fn == "tableLink") {
      const bool table = fn == "tableLink";
      return str_fn([table](const std::string& s) {
        return "/graph?g0.expr=" + query_escape(s) + "&g0.tab=" + (table ? "1" : "0");
      });
    }
    if (fn == "stripPort") {
      return str_fn([](const std::string& s) {
        std::string host, port;
        return split_host_port(s, host, port) ? host : s;
      });
    }
    if (fn == "stripDomain") {
      return str_fn([](const std::string& s) {
        std::string host, port;
        if (!split_host_port(s, host, port)) host = s;
        if (is_ip(host)) return s;
        host = host.substr(0, host.find('.'));
        if (!port.empty()) {
          return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
        }
        return host;
      });
    }
    if (fn == "humanize") return float_fn([](double d) { return humanize(d); });
    if (fn == "humanize1024") return float_fn([](double d) { return humanize1024(d); });
    if (fn == "humanizeDuration") return float_fn([](double d) { return humanize_duration(d); });
    if (fn == "humanizePercentage") {
      return float_fn([](double d) { return humanize_percentage(d); });
    }
    if (fn == "humanizeTimestamp" || fn == "toTime") {
      if (!nargs(1)) return false;
      double d = 0;
      if (!to_float(args[0], d, err, fn)) return false;
      if (fn == "toTime" && (std::isnan(d) || std::isinf(d))) {
        err = err_at(fn_pos, c.text,
                     "error calling toTime: " + shortest_g(d) +
                         " cannot be represented as a nanoseconds timestamp since it "
                         "overflows int64");
        return false;
      }
      auto r = humanize_timestamp(d);
      if (!r) {
        err = err_at(fn_pos, c.text, "error calling " + fn + ": " + r.error);
        return false;
      }
      out = Value::string(*r);
      if (fn == "toTime") out.kind = Kind::kTime;
      return true;
    }
    if (fn == "match") {
      if (!nargs(2)) return false;
      std::string pat, s;
      if (!want_string(0, args, pat, err) || !want_string(1, args, s, err)) {
        return false;
      }
      re2::RE2 re(pat, re2::RE2::Quiet);
      if (!re.ok()) {
        err = err_at(fn_pos, c.text, "error calling match: " + regexp_error(re));
        return false;
      }
      out = Value::boolean(re2::RE2::PartialMatch(s, re));
      return true;
    }
    if (fn == "reReplaceAll") {
      if (!nargs(3)) return false;
      std::string pat, repl, s;
      if (!want_string(0, args, pat, err) || !want_string(1, args, repl, err) ||
          !want_string(2, args, s, err)) {
        return false;
      }
      re2::RE2 re(pat, re2::RE2::Quiet);
      if (!re.ok()) {
        err = err_at(fn_pos, c.text,
                     "error calling reReplaceAll: regexp: Compile(" + go_backquote(pat) +
                         "): " + regexp_error(re));
        return false;
      }
      out = Value::string(replace_all(re, s, repl));
      return true;
    }
    if (fn == "parseDuration") {
      if (!nargs(1)) return false;
      std::string s;
      if (!want_string(0, args, s, err)) return false;
      auto d = promql::parse_duration(s);
      if (!d) {
        err = err_at(fn_pos, c.text,
                     "error calling parseDuration: not a valid duration string: " + go_quote(s));
        return false;
      }
      out = Value::number(static_cast<double>(*d) / 1000.0);
      return true;
    }
    if (fn == "externalURL" || fn == "pathPrefix") {
      if (!nargs(0)) return false;
      std::string u = data_.external_url;
      if (fn == "pathPrefix") {
        std::size_t start = 0;
        const std::size_t scheme = u.find("://");
        if (scheme != std::string::npos) start = u.find('/', scheme + 3);
        u = start == std::string::npos ? "" : u.substr(start);
        u = u.substr(0, u.find_first_of("?#"));
      }
      out = Value::string(std::move(u));
      return true;
    }
    err = err_at(fn_pos, c.text, "not supported in-process: " + fn);
    return false;
  }

 public:
  static std::string query_escape(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string r;
    for (unsigned char ch : s) {
      if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
        r.push_back(static_cast<char>(ch));
      } else if (ch == ' ') {
        r.push_back('+');
      } else {
        r.push_back('%');
        r.push_back(hex[ch >> 4]);
        r.push_back(hex[ch & 15]);
      }
    }
    return r;
  }

  // net.SplitHostPort
  static bool split_host_port(const std::string& s, std::string& host, std::string& port) {
    const std::size_t i = s.rfind(':');
    if (i == std::string::npos) return false;
    std::size_t j = 0, k = 0;
    if (!s.empty() && s[0] == '[') {
      const std::size_t end = s.find(']');
      if (end == std::string::npos) return false;
      if (end + 1 == s.size()) return false;
      if (end + 1 != i) return false;
      host = s.substr(1, end - 1);
      j = 1;
      k = end + 1;
    } else {
      host = s.substr(0, i);
      if (host.find(':') != std::string::npos) return false;
    }
    if (s.find('[', j) != std::string::npos) return false;
    if (s.find(']', k) != std::string::npos) return false;
    port = s.substr(i + 1);
    return true;
  }

  static bool is_ip(const std::string& s) {
    unsigned char buf[16];
    if (s.find('%') != std::string::npos) return false;
    if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return true;
    // Go's ParseIP: dotted decimal, no leading zeros beyond one digit
    int parts = 0;
    std::size_t i = 0;
    while (parts < 4) {
      std::size_t b = i;
      int v = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - b < 4) v = v * 10 + (s[i++] - '0');
      if (i == b || v > 255 || (i - b > 1 && s[b] == '0')) return false;
      ++parts;
      if (parts < 4) {
        if (i >= s.size() || s[i] != '.') return false;
        ++i;
      }
    }
    return i == s.size();
  }

  // Go's Regexp.ReplaceAllString with $1 / ${name} expansion.
  static std::string replace_all(const re2::RE2& re, const std::string& src,
                                 const std::string& repl) {
    const int ngroups = re.NumberOfCapturingGroups();
    std::vector<re2::StringPiece> m(static_cast<std::size_t>(ngroups + 1));
    std::string out;
    std::size_t last_end = 0;
    std::size_t search = 0;
    while (search <= src.size()) {
      if (!re.Match(src, search, src.size(), re2::RE2::UNANCHORED, m.data(), ngroups + 1)) break;
      const auto a0 = static_cast<std::size_t>(m[0].data() - src.data());
      const std::size_t a1 = a0 + m[0].size();
      out.append(src, last_end, a0 - last_end);
      if (a1 > last_end || a0 == 0) expand(re, repl, src, m, out);
      last_end = a1;
      std::size_t width = 0;
      if (search < src.size()) {
        uint32_t r = 0;
        width = static_cast<std::size_t>(decode_rune(src, search, r));
      }
      if (search + width > a1) {
        search += width;
      } else if (search + 1 > a1) {
        ++search;
      } else {
        search = a1;
      }
      if (out.size() > kMaxOutput) break;
    }
    if (last_end < src.size()) out.append(src, last_end, std::string::npos);
    return out;
  }

  static void expand(const re2::RE2& re, const std::string& repl, const std::string& src,
                     const std::vector<re2::StringPiece>& m, std::string& out) {
    (void)src;
    for (std::size_t i = 0; i < repl.size();) {
      if (repl[i] != '$' || i + 1 >= repl.size()) {
        out.push_back(repl[i++]);
        continue;
      }
      if (repl[i + 1] == '$') {
        out.push_back('$');
        i += 2;
        continue;
      }
      std::string name;
      std::size_t j = i + 1;
      bool ok = false;
      if (repl[j] == '{') {
        const std::size_t close = repl.find('}', j + 1);
        if (close != std::string::npos) {
          name = repl.substr(j + 1, close - j - 1);
          ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
          });
          j = close + 1;
        }
      } else {
        while (j < repl.size() &&
               (std::isalnum(static_cast<unsigned char>(repl[j])) || repl[j] == '_')) {
          ++j;
        }
        name = repl.substr(i + 1, j - i - 1);
        ok = !name.empty();
      }
      if (!ok) {
        out.push_back('$');
        ++i;
        continue;
      }
      i = j;
      int idx = -1;
      if (std::all_of(name.begin(), name.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
        if (name.size() < 10) idx = std::stoi(name);
      } else {
        const auto& names = re.NamedCapturingGroups();
        auto it = names.find(name);
        if (it != names.end()) idx = it->second;
      }
      if (idx >= 0 && idx < static_cast<int>(m.size()) && m[static_cast<std::size_t>(idx)].data()) {
        out.append(m[static_cast<std::size_t>(idx)].data(),
                   m[static_cast<std::size_t>(idx)].size());
      }
    }
  }
};

}  // namespace

// ============================================================================================
// Template
// ============================================================================================

detail::ParseResult<Template> Template::parse(std::string_view text, std::string_view name,
                                              Dialect dialect, const Template* library) {
  auto prog = std::make_shared<Program>();
  prog->name = std::string(name);
  prog->source = std::string(text);
  prog->dialect = dialect;
  if (library != nullptr) prog->library = library->program_;
  Parser parser(prog->source, prog->name, dialect, &prog->defines);
  if (auto err = parser.run(prog->root)) return detail::ParseResult<Template>::fail(*err);
  Template t;
  t.program_ = std::move(prog);
  return detail::ParseResult<Template>::ok(std::move(t));
}

detail::ParseResult<Template> Template::parse_alert(std::string_view text,
                                                    std::string_view alert_name) {
  std::string full =
      "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
      "{{$externalURL := .ExternalURL}}{{$value := .Value}}";
  full.append(text);
  return parse(full, "__alert_" + std::string(alert_name));
}

detail::ParseResult<std::string> Template::execute(const TemplateData& data) const {
  if (!program_) return detail::ParseResult<std::string>::ok("");
  Exec exec(*program_, data);
  return exec.run();
}

namespace {

Value struct_value(Tag tag, std::vector<std::pair<std::string, Value>> fields) {
  auto st = std::make_shared<Struct>();
  st->fields = std::move(fields);
  Value v;
  v.kind = Kind::kStruct;
  v.tag = tag;
  v.st = std::move(st);
  return v;
}

Value notification_value(const NotificationData& d) {
  std::vector<Value> alerts;
  alerts.reserve(d.alerts.size());
  for (const NotificationAlertData& a : d.alerts) {
    alerts.push_back(struct_value(Tag::kAlert, {{"Status", Value::string(a.status)},
                                                {"Labels", make_kv(a.labels)},
                                                {"Annotations", make_kv(a.annotations)},
                                                {"StartsAt", make_time(a.starts_at)},
                                                {"EndsAt", make_time(a.ends_at)},
                                                {"GeneratorURL", Value::string(a.generator_url)},
                                                {"Fingerprint", Value::string(a.fingerprint)}}));
  }
  return struct_value(Tag::kData, {{"Receiver", Value::string(d.receiver)},
                                   {"Status", Value::string(d.status)},
                                   {"Alerts", make_list(Tag::kAlerts, std::move(alerts))},
                                   {"GroupLabels", make_kv(d.group_labels)},
                                   {"CommonLabels", make_kv(d.common_labels)},
                                   {"CommonAnnotations", make_kv(d.common_annotations)},
                                   {"ExternalURL", Value::string(d.external_url)}});
}

}  // namespace

detail::ParseResult<std::string> Template::execute_notification(
    const NotificationData& data) const {
  if (!program_) return detail::ParseResult<std::string>::ok("");
  static const TemplateData kEmpty;
  Exec exec(*program_, kEmpty, notification_value(data));
  return exec.run();
}

const std::string& Template::name() const noexcept {
  static const std::string empty;
  return program_ ? program_->name : empty;
}

// ============================================================================================
// Brace style
// ============================================================================================

std::string expand_braces(std::string_view text, const std::map<std::string, std::string>& labels,
                          double value) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] != '{') {
      out.push_back(text[i++]);
      continue;
    }
    const std::size_t close = text.find('}', i + 1);
    if (close == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    const std::string_view inner = text.substr(i + 1, close - i - 1);
    const std::string_view whole = text.substr(i, close - i + 1);
    i = close + 1;
    const std::size_t colon = inner.find(':');
    const std::string_view key = inner.substr(0, colon);
    if (key == "value") {
      if (colon == std::string_view::npos) {
        out += shortest_g(value);
        continue;
      }
      const std::string spec = "%" + std::string(inner.substr(colon + 1));
      const std::string r = format_float(spec, value);
      if (r.find("%!") != std::string::npos) {
        out.append(whole);
      } else {
        out += r;
      }
      continue;
    }
    if (colon != std::string_view::npos) {
      out.append(whole);
      continue;
    }
    std::string_view name = key;
    if (name.substr(0, 7) == "labels.") name.remove_prefix(7);
    auto it = labels.find(std::string(name));
    if (it == labels.end()) {
      out.append(whole);
    } else {
      out += it->second;
    }
  }
  return out;
}

}  // namespace vigil::alerting::tmpl
