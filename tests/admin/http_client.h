// tests/admin/http_client.h: a small blocking HTTP client (libcurl) for the admin endpoint
// tests: any method, an optional JSON body and bearer token; status, body and Content-Type back.
#pragma once

#include <curl/curl.h>

#include <cctype>
#include <mutex>
#include <string>

namespace vigil::admin::testing {

struct HttpResponse {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::string content_type;
  std::string headers;  // the raw response header lines ("Name: value\r\n" ...)

  // The value of the first response header `name` (case-insensitive), "" when absent.
  std::string header(const std::string& name) const {
    size_t pos = 0;
    while (pos < headers.size()) {
      size_t end = headers.find("\r\n", pos);
      if (end == std::string::npos) end = headers.size();
      const std::string line = headers.substr(pos, end - pos);
      pos = end + 2;
      const size_t colon = line.find(':');
      if (colon != name.size()) continue;
      bool same = true;
      for (size_t i = 0; i < colon; ++i) {
        same = same && std::tolower(static_cast<unsigned char>(line[i])) ==
                           std::tolower(static_cast<unsigned char>(name[i]));
      }
      if (!same) continue;
      size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      return line.substr(v);
    }
    return "";
  }
};

inline size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

inline HttpResponse http(const std::string& method, const std::string& url,
                         const std::string& body = "", const std::string& token = "") {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  HttpResponse res;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_slist* headers = nullptr;
  if (!token.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  if (method == "POST") {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  if (headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &res.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &res.headers);
  res.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res.status);
  char* ct = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
  if (ct != nullptr) res.content_type = ct;
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  return res;
}

}  // namespace vigil::admin::testing
