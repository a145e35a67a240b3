// src/core/detail/curl_transfer.h (internal to vigil_core_http; includes libcurl): the one loop
// that drives a libcurl easy handle through a multi handle until it completes, `deadline` passes
// (plus a 200 ms backstop over libcurl's own CURLOPT_TIMEOUT_MS) or `aborted` turns true (the
// owner calls curl_multi_wakeup(multi) after setting it, so the wait ends at once). Shared by
// HttpSender (http_sender.h) and SmtpSender (smtp_sender.h).
//
//   CurlRun run = run_curl_transfer(multi, easy, deadline, aborted_);
//   if (run.aborted) ...; else if (!run.done) ... /* deadline */; else if (run.code != CURLE_OK)
//   ...
//
// Thread-safety: called by the one thread that owns `multi` and `easy`; never throws except
// std::bad_alloc.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <string>

namespace vigil::detail {

struct CurlRun {
  bool started = true;  // false: the handle could not be added (error says why)
  bool done = false;    // the transfer completed; `code` is its result
  bool aborted = false;
  CURLcode code = CURLE_OK;
  std::string error;  // a multi-interface failure
};

CurlRun run_curl_transfer(CURLM* multi, CURL* easy, std::chrono::steady_clock::time_point deadline,
                          const std::atomic<bool>& aborted);

}  // namespace vigil::detail
