// Resource: defaults, options, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
#include "vigil/trace/resource.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "core/detail/kv_list.h"
#include "core/detail/text.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "unknown"
#endif

namespace vigil::trace {
namespace {

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
  vigil::detail::ParseResult<vigil::detail::KvList> parsed =
      vigil::detail::parse_kv_list(text, {.decode_keys = true});
  if (!parsed) {
    error = std::move(parsed.error);
    return false;
  }
  for (vigil::detail::KvPair& kv : parsed->pairs)
    upsert(out, std::move(kv.key), std::move(kv.value));
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
      upsert(attrs, "service.name", std::string(vigil::detail::trim(*name)));
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
