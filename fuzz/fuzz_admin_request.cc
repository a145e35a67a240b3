// Fuzzes what the admin server does with a request head before any handler runs: Beast's
// request parser on the raw bytes, then vigil's own checks (obsolete folding on the raw bytes,
// the target and its %-decoded path, query parameters). Nothing may crash, and what the checks
// accept must satisfy what the server relies on.
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "request_checks.h"
#include "vigil/admin/server.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const bool fold = vigil::admin::detail::has_obsolete_fold(bytes);

  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec || !parser.is_header_done()) return 0;
  (void)fold;

  const auto& msg = parser.get();
  const std::string_view target(msg.target().data(), msg.target().size());
  const vigil::admin::detail::Target t = vigil::admin::detail::parse_target(target);
  if (t.error.empty() && !t.asterisk) {
    // An accepted path starts with '/' and has no NUL; the query is a view into the target.
    if (t.path.empty() || t.path.front() != '/') std::abort();
    if (t.path.find('\0') != std::string::npos) std::abort();
    if (!t.query.empty() && (t.query.data() < target.data() ||
                             t.query.data() + t.query.size() > target.data() + target.size())) {
      std::abort();
    }
    vigil::admin::Request req;
    req.query = t.query;
    (void)req.query_param("format");
    (void)req.query_param("a");
  }
  return 0;
}
