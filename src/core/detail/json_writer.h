// src/core/detail/json_writer.h (internal, not installed): the one streaming JSON writer. Writes
// straight into a std::string: no DOM, no allocation beyond the output's growth; it places the
// commas between members and elements itself. Strings go through append_json_string
// (json_escape.h: always valid UTF-8). For OTLP/JSON (exporters) and the JSON-lines span
// exporter (trace) alike.
//
//   std::string out;
//   JsonWriter w(out);
//   w.open_object();
//   w.key("name");   w.string("GET /");
//   w.key("count");  w.int64(3);
//   w.key("ids");    w.open_array(); w.element(); w.uint_string(7); w.close_array();
//   w.close_object();  // {"name":"GET /","count":3,"ids":["7"]}
//
// Not thread-safe (one writer per output); never throws except std::bad_alloc. It checks
// nothing about nesting: the caller opens and closes in order.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/detail/hex.h"
#include "core/detail/json_escape.h"
#include "core/detail/shortest_double.h"

namespace vigil::detail {

// A double as JsonWriter::dbl writes it (shortest round-trip form, integers through the integer
// fast path of shortest_double.h; "NaN", "Infinity", "-Infinity" as strings), for code that
// writes JSON text without a writer.
inline void append_json_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out.append("\"NaN\"");
  } else if (std::isinf(v)) {
    out.append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    char buf[kShortestDoubleChars];
    out.append(buf, static_cast<std::size_t>(write_shortest_double(buf, v) - buf));
  }
}

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void raw(std::string_view s) { out_.append(s); }
  void raw(char c) { out_.push_back(c); }
  // A complete value rendered earlier (e.g. by another JsonWriter), written as it is.
  void raw_value(std::string_view s) {
    out_.append(s);
    need_comma_ = true;
  }

  // "key": with a comma before it unless it is the first member of its object. `k` is written
  // as it is: a name the code chose, with nothing to escape.
  void key(std::string_view k) {
    if (need_comma_) out_.push_back(',');
    out_.push_back('"');
    out_.append(k);
    out_.append("\":");
    need_comma_ = false;
  }
  // As key(), for a name from outside (an attribute key): escaped as a JSON string.
  void escaped_key(std::string_view k) {
    if (need_comma_) out_.push_back(',');
    append_json_string(out_, k);
    out_.push_back(':');
    need_comma_ = false;
  }
  void open_object() { open('{'); }
  void close_object() { close('}'); }
  void open_array() { open('['); }
  void close_array() { close(']'); }
  // Before an array element that is not a member.
  void element() {
    if (need_comma_) out_.push_back(',');
    need_comma_ = false;
  }

  // A JSON string; invalid UTF-8 is replaced by U+FFFD, control characters escaped.
  void string(std::string_view s) {
    append_json_string(out_, s);
    need_comma_ = true;
  }
  // key(k) then the value: the common one-line members.
  void string_member(std::string_view k, std::string_view v) {
    key(k);
    string(v);
  }
  void uint64_member(std::string_view k, uint64_t v) {
    key(k);
    uint64(v);
  }

  // A 64-bit integer as a decimal string (proto3 JSON).
  void int_string(int64_t v) { number_string(v); }
  void uint_string(uint64_t v) { number_string(v); }
  // Integers as JSON numbers.
  void number(uint32_t v) { plain_number(v); }
  void number(int v) { number(static_cast<uint32_t>(v)); }
  void int64(int64_t v) { plain_number(v); }
  void uint64(uint64_t v) { plain_number(v); }
  void null() {
    out_.append("null");
    need_comma_ = true;
  }
  void boolean(bool v) {
    out_.append(v ? "true" : "false");
    need_comma_ = true;
  }
  // Shortest round-trip form; non-finite values as the proto3 JSON strings "NaN", "Infinity"
  // and "-Infinity".
  void dbl(double v) {
    append_json_double(out_, v);
    need_comma_ = true;
  }
  // `n` bytes as a string of lowercase hex digits.
  void hex(const uint8_t* bytes, std::size_t n) {
    out_.push_back('"');
    for (std::size_t i = 0; i < n; ++i) append_hex(out_, bytes[i]);
    out_.push_back('"');
    need_comma_ = true;
  }

 private:
  void open(char c) {
    out_.push_back(c);
    need_comma_ = false;
  }
  void close(char c) {
    out_.push_back(c);
    need_comma_ = true;
  }
  template <typename T>
  void plain_number(T v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, static_cast<std::size_t>(r.ptr - buf));
    need_comma_ = true;
  }
  template <typename T>
  void number_string(T v) {
    out_.push_back('"');
    plain_number(v);
    out_.push_back('"');
  }

  std::string& out_;
  bool need_comma_ = false;
};

}  // namespace vigil::detail
