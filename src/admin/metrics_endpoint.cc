#include "vigil/admin/metrics_endpoint.h"

#include <optional>
#include <string>
#include <utility>

#include "vigil/metrics/exposition.h"

namespace vigil::admin {
namespace {

std::optional<metrics::Format> format_from_name(std::string_view name) noexcept {
  if (name == "prometheus" || name == "text") return metrics::Format::kPrometheusText;
  if (name == "openmetrics") return metrics::Format::kOpenMetrics;
  if (name == "json") return metrics::Format::kJson;
  return std::nullopt;
}

}  // namespace

void add_metrics_endpoint(Server& server, const metrics::Registry& registry, std::string path) {
  HandleOptions options;
  options.methods = {"GET"};
  options.access = Access::kPublic;  // scraped by Prometheus
  options.description = "metrics (Prometheus text, OpenMetrics or JSON; ?format= overrides Accept)";
  const metrics::Registry* reg = &registry;
  server.handle(
      std::move(path),
      [reg](const Request& request) {
        Response response;
        metrics::Format format = metrics::Format::kPrometheusText;
        if (std::optional<std::string> name = request.query_param("format")) {
          std::optional<metrics::Format> chosen = format_from_name(*name);
          if (!chosen) {
            response.status = 400;
            response.body =
                "400 Bad Request: unknown format; use prometheus, openmetrics or json\n";
            return response;
          }
          format = *chosen;
        } else {
          format = metrics::negotiate_format(request.header("Accept").value_or(""));
        }
        response.content_type = std::string(metrics::content_type(format));
        response.headers.emplace_back("Cache-Control", "no-store");
        metrics::serialize(*reg, format, response.body);
        return response;
      },
      std::move(options));
}

}  // namespace vigil::admin
