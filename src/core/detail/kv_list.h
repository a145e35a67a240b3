// src/core/detail/kv_list.h (internal, not installed): the one parser of comma-separated
// "key=value" lists: OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS and the like.
//
// Grammar: members separated by ','; OWS (spaces and tabs) around members, keys and values is
// dropped; empty members ("a=1,,b=2", a trailing ',') are skipped; a member is split at its first
// '=' (later '=' belong to the value); keys must not be empty; values (and, if asked, keys) are
// percent-decoded (see percent.h). W3C baggage, whose members carry ";properties" and follow
// other limits, uses for_each_list_member and split_pair from text.h instead.
//
//   ParseResult<KvList> r = parse_kv_list("service.name=gw,\tteam = a%20b");
//   // r->pairs: {"service.name", "gw"}, {"team", "a b"}
//   ParseResult<KvList> bad = parse_kv_list("novalue");
//   // bad.error: "'novalue' is not key=value"
//
// Thread-safe; never throws except std::bad_alloc; cost O(size).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/detail/parse_result.h"

namespace vigil::detail {

struct KvPair {
  std::string key;
  std::string value;
  friend bool operator==(const KvPair&, const KvPair&) = default;
};

struct KvListOptions {
  bool decode_keys = false;  // percent-decode keys as well as values
  bool reject_nul = false;   // a key or value that decodes to a NUL byte is bad
  // Called for every key (after decoding); returns "" when it is acceptable, otherwise what is
  // wrong with it ("is not a valid header name"). Null: any non-empty key.
  std::function<std::string(std::string_view key)> check_key;
  // The same for every value (after decoding), e.g. "contains CR or LF". Null: any value.
  std::function<std::string(std::string_view value)> check_value;
  // false: the first bad member fails the whole list (the result has an error and no value).
  // true: bad members are left out and described in KvList::skipped; the result always has a
  // value.
  bool skip_bad_members = false;
};

struct KvList {
  std::vector<KvPair> pairs;         // in list order; a repeated key appears again
  std::vector<std::string> skipped;  // with skip_bad_members: one message per member left out
};

ParseResult<KvList> parse_kv_list(std::string_view text, const KvListOptions& options = {});

}  // namespace vigil::detail
