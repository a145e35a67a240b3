// vigil/trace/baggage.h: W3C Baggage, name/value pairs that travel with a request.
//
//   vigil::trace::Baggage b = vigil::trace::Baggage::parse("user.id=42,session.id=s%201");
//   std::optional<std::string_view> user = b.get("user.id");   // "42"
//   b.set("request.id", "r-17");
//   std::string header = b.header();                            // percent-encodes values
//
// Parsing follows the W3C Baggage rules: list members "key=value;properties" separated by ',',
// optional whitespace around them, keys are HTTP tokens, values percent-decoded. A malformed
// member is skipped (the rest is kept); at most 180 members and 8192 bytes are read, members past
// those limits are dropped. Properties are kept verbatim but have no meaning here.
//
// A Baggage is a plain value; copy it freely. Not thread-safe for concurrent writes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::trace {

class Baggage {
 public:
  static constexpr std::size_t kMaxMembers = 180;
  static constexpr std::size_t kMaxBytes = 8192;

  struct Entry {
    std::string key;
    std::string value;     // decoded
    std::string metadata;  // properties after ';', verbatim (may be empty)
    friend bool operator==(const Entry&, const Entry&) = default;
  };

  Baggage() = default;

  // Parses a baggage header value (several header lines joined with ','). Never throws except
  // std::bad_alloc; malformed members are skipped. A later duplicate key replaces an earlier one.
  static Baggage parse(std::string_view header);
  // Whether `key` is a valid baggage key (an HTTP token).
  static bool valid_key(std::string_view key) noexcept;

  std::optional<std::string_view> get(std::string_view key) const noexcept;
  // Sets `key` (replacing its value). Returns false (and changes nothing) for an invalid key.
  bool set(std::string_view key, std::string_view value, std::string_view metadata = {});
  bool remove(std::string_view key);
  const std::vector<Entry>& entries() const noexcept { return entries_; }
  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }

  // The header value to send: values percent-encoded; members that would take it past 8192 bytes
  // are left out.
  std::string header() const;

  friend bool operator==(const Baggage&, const Baggage&) = default;

 private:
  std::vector<Entry> entries_;
};

}  // namespace vigil::trace
