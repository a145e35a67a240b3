// Resource: defaults, options, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
#include "vigil/trace/resource.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "unknown"
#endif

namespace vigil::trace {
namespace {

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

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_digit(in[i + 1]);
    const int lo = hex_digit(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi << 4 | lo);
    i += 2;
  }
  return true;
}

std::string executable_name() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "unknown";
  std::string_view path(buf, static_cast<std::size_t>(n));
  const std::size_t slash = path.rfind('/');
  if (slash != std::string_view::npos) path.remove_prefix(slash + 1);
  return std::string(path);
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string random_uuid() {
  std::random_device rd;
  uint8_t b[16];
  for (int i = 0; i < 16; i += 4) {
    const uint32_t r = rd();
    for (int j = 0; j < 4; ++j) b[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // variant 10
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

void upsert(std::vector<KeyValue>& attrs, std::string key, AttributeValue value) {
  for (KeyValue& kv : attrs) {
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  }
  attrs.push_back({std::move(key), std::move(value)});
}

}  // namespace

Resource::Resource(std::vector<KeyValue> attributes, std::string schema_url)
    : schema_url_(std::move(schema_url)) {
  for (KeyValue& kv : attributes) upsert(attributes_, std::move(kv.key), std::move(kv.value));
}

bool Resource::parse_attributes(std::string_view text, std::vector<KeyValue>& out,
                                std::string& error) {
  std::vector<KeyValue> parsed;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view member = trim(text.substr(pos, comma - pos));
    pos = comma + 1;
    if (member.empty()) continue;
    const std::size_t eq = member.find('=');
    if (eq == std::string_view::npos) {
      error = "'" + std::string(member) + "' is not key=value";
      return false;
    }
    const std::string_view key = trim(member.substr(0, eq));
    if (key.empty()) {
      error = "'" + std::string(member) + "' has an empty key";
      return false;
    }
    std::string value;
    if (!percent_decode(trim(member.substr(eq + 1)), value)) {
      error = "the value of '" + std::string(key) + "' has a malformed percent-encoding";
      return false;
    }
    std::string decoded_key;
    if (!percent_decode(key, decoded_key)) {
      error = "the key '" + std::string(key) + "' has a malformed percent-encoding";
      return false;
    }
    upsert(parsed, std::move(decoded_key), std::move(value));
  }
  for (KeyValue& kv : parsed) upsert(out, std::move(kv.key), std::move(kv.value));
  return true;
}

Resource Resource::create(const ResourceOptions& options, const Environment& env) {
  std::vector<KeyValue> attrs;
  upsert(attrs, "service.name", std::string("unknown_service:") + executable_name());
  upsert(attrs, "service.instance.id", random_uuid());
  upsert(attrs, "host.name", host_name());
  upsert(attrs, "process.pid", static_cast<int64_t>(::getpid()));
  upsert(attrs, "telemetry.sdk.name", std::string("vigil"));
  upsert(attrs, "telemetry.sdk.language", std::string("cpp"));
  upsert(attrs, "telemetry.sdk.version", std::string(VIGIL_VERSION));
  if (!options.service_name.empty()) upsert(attrs, "service.name", options.service_name);
  if (!options.service_version.empty()) upsert(attrs, "service.version", options.service_version);
  if (!options.deployment_environment.empty()) {
    upsert(attrs, "deployment.environment", options.deployment_environment);
  }
  if (!options.service_instance_id.empty()) {
    upsert(attrs, "service.instance.id", options.service_instance_id);
  }
  for (const KeyValue& kv : options.attributes) upsert(attrs, kv.key, kv.value);
  if (options.from_environment) {
    if (auto text = env.get("OTEL_RESOURCE_ATTRIBUTES")) {
      std::string error;
      if (!parse_attributes(*text, attrs, error)) {
        env.warn("OTEL_RESOURCE_ATTRIBUTES ignored: " + error +
                 " (expected key=value pairs separated by ',', values percent-encoded)");
      }
    }
    if (auto name = env.get("OTEL_SERVICE_NAME"))
      upsert(attrs, "service.name", std::string(trim(*name)));
  }
  return Resource(std::move(attrs));
}

const AttributeValue* Resource::get(std::string_view key) const noexcept {
  for (const KeyValue& kv : attributes_) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

std::string_view Resource::service_name() const noexcept {
  const AttributeValue* v = get("service.name");
  if (v == nullptr) return {};
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  return {};
}

Resource Resource::merge(const Resource& updating) const {
  Resource out = *this;
  for (const KeyValue& kv : updating.attributes_) upsert(out.attributes_, kv.key, kv.value);
  if (!updating.schema_url_.empty()) out.schema_url_ = updating.schema_url_;
  return out;
}

Resource Resource::with(std::string key, AttributeValue value) const {
  Resource out = *this;
  upsert(out.attributes_, std::move(key), std::move(value));
  return out;
}

}  // namespace vigil::trace
