// libFuzzer target: vigil::alerting::parse_rule_file (Prometheus rule files, with the PromQL
// parser and the template engine inside) and the template engine on its own. Checks: never
// crashes; a result has a file xor errors; a template that parses executes without crashing
// and within its output bound.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "alerting/template.h"
#include "vigil/alerting/rule_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = vigil::alerting::parse_rule_file(in, "fuzz.yml");
  if (r.file.has_value() == !r.errors.empty()) std::abort();

  namespace t = vigil::alerting::tmpl;
  const auto parsed = t::Template::parse_alert(in, "Fuzz");
  if (parsed.has_value() != parsed.error.empty()) std::abort();
  if (parsed) {
    t::TemplateData d;
    d.labels = {{"job", "api"}, {"instance", "host:9090"}};
    d.external_labels = {{"cluster", "eu1"}};
    d.value = static_cast<double>(size) / 7.0;
    const auto out = parsed->execute(d);
    if (out && out->size() > t::kMaxOutput) std::abort();
  }
  return 0;
}
