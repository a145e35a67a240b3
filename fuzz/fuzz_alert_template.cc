// libFuzzer target: the Go-template engine of alert labels and annotations on its own
// (vigil::alerting::tmpl). The first byte picks the value and whether the text is parsed as a
// plain template or with the alert prelude ($labels, $value, ...); the rest is the template.
// Checks: never crashes or hangs; a parse result is a template xor an error; execution returns
// output xor an error, and output never exceeds kMaxOutput.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <string_view>

#include "alerting/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace t = vigil::alerting::tmpl;
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto parsed =
      (mode & 1) != 0 ? t::Template::parse_alert(text, "Fuzz") : t::Template::parse(text, "fuzz");
  if (parsed.has_value() != parsed.error.empty()) std::abort();
  if (!parsed) return 0;
  static constexpr double kValues[] = {0,
                                       -1.5,
                                       12.345678,
                                       1e300,
                                       std::numeric_limits<double>::quiet_NaN(),
                                       std::numeric_limits<double>::infinity(),
                                       -std::numeric_limits<double>::infinity(),
                                       4.9e-324};
  t::TemplateData d;
  d.labels = {{"job", "api"}, {"instance", "host:9090"}, {"__name__", "up"}, {"le", "+Inf"}};
  d.external_labels = {{"cluster", "eu1"}};
  d.external_url = "http://prometheus.example:9090/";
  d.value = kValues[(mode >> 1) % std::size(kValues)];
  const auto out = parsed->execute(d);
  if (out.has_value() != out.error.empty()) std::abort();
  if (out && out->size() > t::kMaxOutput) std::abort();
  return 0;
}
