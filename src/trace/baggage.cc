// W3C Baggage.
#include "vigil/trace/baggage.h"

#include "core/detail/hex.h"
#include "core/detail/percent.h"
#include "core/detail/text.h"

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

// A baggage value: baggage-octets and %-escapes only, percent-decoded into `out`.
bool decode_value(std::string_view in, std::string& out) {
  for (char c : in) {
    if (!is_baggage_octet(c)) return false;  // '%' is a baggage-octet
  }
  vigil::detail::ParseResult<std::string> decoded = vigil::detail::percent_decode(in);
  if (!decoded) return false;
  out = std::move(*decoded);
  return true;
}

void encode_value(std::string_view in, std::string& out) {
  for (char c : in) {
    if (is_baggage_octet(c) && c != '%') {
      out += c;
    } else {
      out += '%';
      vigil::detail::append_hex(out, static_cast<uint8_t>(c), /*upper=*/true);
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
  std::string value;
  vigil::detail::for_each_list_member(header, ',', [&](std::string_view member) {
    if (b.entries_.size() >= kMaxMembers) return false;
    std::string_view metadata;
    const std::size_t semi = member.find(';');
    if (semi != std::string_view::npos) {
      metadata = vigil::detail::trim(member.substr(semi + 1));
      member = vigil::detail::trim(member.substr(0, semi));
    }
    const vigil::detail::SplitPair kv = vigil::detail::split_pair(member, '=');
    if (!kv.found || !valid_key(kv.first) || !decode_value(kv.second, value)) return true;
    b.set(kv.first, value, metadata);
    return true;
  });
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
