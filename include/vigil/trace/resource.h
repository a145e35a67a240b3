// vigil/trace/resource.h: the entity producing telemetry (service, host, process, SDK).
//
//   // service.name etc. from the code, overridden by OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES:
//   vigil::trace::Resource r = vigil::trace::Resource::create({
//       .service_name = "checkout", .service_version = "1.4.2",
//       .deployment_environment = "prod"});
//   std::string_view name = r.service_name();
//
// Attributes always present: service.name (default "unknown_service:<executable>"),
// service.instance.id (a random UUID per process unless given), host.name, process.pid,
// telemetry.sdk.name ("vigil"), telemetry.sdk.language ("cpp"), telemetry.sdk.version; and
// service.version and deployment.environment when set.
//
// Precedence, lowest first: built-in defaults, ResourceOptions, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_SERVICE_NAME (for service.name). The environment wins over the code so that operators
// can rename a service without rebuilding it (OpenTelemetry SDKs differ here; see
// docs/tracing.md). OTEL_RESOURCE_ATTRIBUTES is "key=value,key2=value2" with percent-encoded
// values; a malformed value gives a warning and is ignored as a whole (the OTel rule).
//
// A Resource is an immutable value once built; share one per TracerProvider. Thread-safe to read.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/trace/environment.h"
#include "vigil/trace/span_data.h"

namespace vigil::trace {

struct ResourceOptions {
  std::string service_name;            // service.name
  std::string service_version;         // service.version
  std::string deployment_environment;  // deployment.environment
  std::string service_instance_id;     // service.instance.id; empty: a random UUID v4
  std::vector<KeyValue> attributes;    // anything else; wins over the fields above
  bool from_environment = true;        // read OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
};

class Resource {
 public:
  // An empty resource (no attributes at all).
  Resource() = default;
  explicit Resource(std::vector<KeyValue> attributes, std::string schema_url = {});

  // The default attributes, `options`, then the environment (see above). Warnings go to `env`.
  static Resource create(const ResourceOptions& options = {},
                         const Environment& env = Environment());

  // Parses OTEL_RESOURCE_ATTRIBUTES syntax ("k=v,k2=v2", values percent-decoded, surrounding
  // spaces trimmed). Returns false (and leaves `out` untouched) on any error, with a message in
  // `error`. Never throws except std::bad_alloc.
  static bool parse_attributes(std::string_view text, std::vector<KeyValue>& out,
                               std::string& error);

  const std::vector<KeyValue>& attributes() const noexcept { return attributes_; }
  const std::string& schema_url() const noexcept { return schema_url_; }
  // The value of `key`, or nullptr.
  const AttributeValue* get(std::string_view key) const noexcept;
  // service.name as a string ("" when absent or not a string).
  std::string_view service_name() const noexcept;

  // A copy with the attributes of `updating` added; for the same key, `updating` wins.
  Resource merge(const Resource& updating) const;
  // A copy with `key` set to `value`.
  Resource with(std::string key, AttributeValue value) const;

 private:
  std::vector<KeyValue> attributes_;
  std::string schema_url_;
};

}  // namespace vigil::trace
