// src/admin/request_checks.h (private): the checks the admin server makes on a request beyond
// what Boost.Beast's parser does: obsolete line folding in the raw header, and the request target
// (origin-form, absolute-form, "*") with its %-decoded path (core/detail/percent.h). Pure
// functions, unit-tested and fuzzed (fuzz/fuzz_admin_request.cc). Not installed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vigil::admin::detail {

// Whether the header block at the start of `buffered` (up to its first empty line, or all of it
// while incomplete) has a line that starts with a space or tab after the request line: obsolete
// line folding (RFC 9112 5.2), or whitespace before the first field (RFC 9112 2.2). Blank lines
// before the request line are allowed. Never throws; no allocation.
bool has_obsolete_fold(std::string_view buffered) noexcept;

// A request target taken apart.
struct Target {
  bool asterisk = false;   // "*" (OPTIONS only)
  std::string path;        // %-decoded, starts with '/'
  std::string_view query;  // raw, without '?' and any '#fragment'; a view into the input
  std::string error;       // set when the target is refused (then the rest is empty)
};

// Parses origin-form ("/p?q"), absolute-form ("http://host/p?q", http or https) and "*".
// Refuses anything else, a malformed %-escape and an encoded NUL in the path. Never throws
// except std::bad_alloc.
Target parse_target(std::string_view target);

}  // namespace vigil::admin::detail
