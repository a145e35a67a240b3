// vigil/trace/attributes.h: typed attribute values, key/value pairs and the reusable lists that
// pooled spans keep them in (ReuseList, AttributeList).
//
//   using namespace vigil::trace;
//   AttributeList attrs;
//   if (AttributeValue* v = attrs.slot("http.method", 128)) assign(*v, "GET");
//   for (const KeyValue& kv : attrs) out << kv.key << '=' << to_string(kv.value);
//
// Thread-safety: plain values, not thread-safe: concurrent reads are safe, writes need external
// synchronisation. Nothing here throws except std::bad_alloc from growing a container.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "vigil/trace/detail/strings.h"

namespace vigil::trace {

// ---- Attributes ------------------------------------------------------------------------------

// A typed attribute value: string, bool, int64, double or a homogeneous array of one of them.
// std::monostate is the empty value (never set by the API).
using AttributeValue =
    std::variant<std::monostate, std::string, bool, int64_t, double, std::vector<std::string>,
                 std::vector<bool>, std::vector<int64_t>, std::vector<double>>;

// Text form of a value: strings as is, bools true/false, numbers in shortest round-trip form,
// arrays as JSON arrays. Allocates.
std::string to_string(const AttributeValue& value);

struct KeyValue {
  std::string key;
  AttributeValue value;
};

// A vector whose clear() keeps its elements (and their buffers) to be overwritten by the next
// push: what pooled spans use for attributes, events and links. Iteration covers only the live
// elements [0, size()). Not thread-safe.
template <typename T>
class ReuseList {
 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) noexcept { return items_[i]; }
  const T& operator[](std::size_t i) const noexcept { return items_[i]; }
  T* begin() noexcept { return items_.data(); }
  T* end() noexcept { return items_.data() + size_; }
  const T* begin() const noexcept { return items_.data(); }
  const T* end() const noexcept { return items_.data() + size_; }
  std::span<const T> view() const noexcept { return {items_.data(), size_}; }
  T& back() noexcept { return items_[size_ - 1]; }

  // A slot at the end holding whatever a previous use left in it: the caller overwrites every
  // field. Allocates only when the list grows past its previous peak.
  T& next_slot() {
    if (size_ == items_.size()) items_.emplace_back();
    return items_[size_++];
  }
  void push_back(T value) { next_slot() = std::move(value); }
  // Removes the last element (kept for reuse).
  void pop_back() noexcept { --size_; }
  // Empties the list; the elements stay allocated for reuse.
  void clear() noexcept { size_ = 0; }
  // Frees everything.
  void release() noexcept {
    items_.clear();
    items_.shrink_to_fit();
    size_ = 0;
  }

 private:
  std::vector<T> items_;
  std::size_t size_ = 0;
};

// Attributes of a span, event, link or resource. set() replaces a value of the same key.
class AttributeList : public ReuseList<KeyValue> {
 public:
  // The value of `key`, or nullptr. Linear in size().
  const AttributeValue* find(std::string_view key) const noexcept {
    for (const KeyValue& kv : *this) {
      if (detail::equal_strings(kv.key, key)) return &kv.value;
    }
    return nullptr;
  }
  // The slot for `key`: its existing value or a new entry (the key written, the value left as
  // a previous use had it). Returns nullptr when `key` is new and the list already holds `limit`
  // entries (the caller counts the drop). Reuses buffers; allocates only to grow.
  AttributeValue* slot(std::string_view key, std::size_t limit) {
    for (KeyValue& kv : *this) {
      if (detail::equal_strings(kv.key, key)) return &kv.value;
    }
    if (size() >= limit) return nullptr;
    KeyValue& kv = next_slot();
    detail::assign_string(kv.key, key);
    return &kv.value;
  }
};

// Assigns into an existing AttributeValue, reusing its string/vector buffer when it already holds
// the same alternative.
void assign(AttributeValue& out, std::string_view v);
inline void assign(AttributeValue& out, const char* v) { assign(out, std::string_view(v)); }
inline void assign(AttributeValue& out, const std::string& v) { assign(out, std::string_view(v)); }
inline void assign(AttributeValue& out, bool v) noexcept { out = v; }
inline void assign(AttributeValue& out, int64_t v) noexcept { out = v; }
inline void assign(AttributeValue& out, double v) noexcept { out = v; }
void assign(AttributeValue& out, const AttributeValue& v);

}  // namespace vigil::trace
