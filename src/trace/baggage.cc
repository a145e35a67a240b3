// W3C Baggage.
#include "vigil/trace/baggage.h"

namespace vigil::trace {
namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

// baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
bool is_baggage_octet(char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) ||
         (c >= 0x3C && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool decode_value(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_digit(in[i + 1]);
      const int lo = hex_digit(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi << 4 | lo);
      i += 2;
    } else if (is_baggage_octet(c)) {
      out += c;
    } else {
      return false;
    }
  }
  return true;
}

void encode_value(std::string_view in, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : in) {
    if (is_baggage_octet(c) && c != '%') {
      out += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
}

}  // namespace

bool Baggage::valid_key(std::string_view key) noexcept {
  if (key.empty()) return false;
  for (char c : key) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

Baggage Baggage::parse(std::string_view header) {
  Baggage b;
  if (header.size() > kMaxBytes) header = header.substr(0, kMaxBytes);
  std::size_t pos = 0;
  std::string value;
  while (pos <= header.size() && b.entries_.size() < kMaxMembers) {
    std::size_t comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view member = trim(header.substr(pos, comma - pos));
    pos = comma + 1;
    if (member.empty()) continue;
    std::string_view metadata;
    const std::size_t semi = member.find(';');
    if (semi != std::string_view::npos) {
      metadata = trim(member.substr(semi + 1));
      member = trim(member.substr(0, semi));
    }
    const std::size_t eq = member.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = trim(member.substr(0, eq));
    if (!valid_key(key) || !decode_value(trim(member.substr(eq + 1)), value)) continue;
    b.set(key, value, metadata);
  }
  return b;
}

std::optional<std::string_view> Baggage::get(std::string_view key) const noexcept {
  for (const Entry& e : entries_) {
    if (e.key == key) return std::string_view(e.value);
  }
  return std::nullopt;
}

bool Baggage::set(std::string_view key, std::string_view value, std::string_view metadata) {
  if (!valid_key(key)) return false;
  for (Entry& e : entries_) {
    if (e.key == key) {
      e.value.assign(value);
      e.metadata.assign(metadata);
      return true;
    }
  }
  entries_.push_back(Entry{std::string(key), std::string(value), std::string(metadata)});
  return true;
}

bool Baggage::remove(std::string_view key) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->key == key) {
      entries_.erase(it);
      return true;
    }
  }
  return false;
}

std::string Baggage::header() const {
  std::string out;
  std::string member;
  std::size_t count = 0;
  for (const Entry& e : entries_) {
    if (count == kMaxMembers) break;
    member.clear();
    member += e.key;
    member += '=';
    encode_value(e.value, member);
    if (!e.metadata.empty()) {
      member += ';';
      member += e.metadata;
    }
    if (out.size() + member.size() + (out.empty() ? 0 : 1) > kMaxBytes) continue;
    if (!out.empty()) out += ',';
    out += member;
    ++count;
  }
  return out;
}

}  // namespace vigil::trace
