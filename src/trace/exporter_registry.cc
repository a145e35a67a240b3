// The registry of exporter factories selected by OTEL_TRACES_EXPORTER.
#include <algorithm>
#include <map>
#include <mutex>

#include "vigil/core/error.h"
#include "vigil/trace/exporter.h"

namespace vigil::trace {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, ExporterFactory, std::less<>> factories;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: usable during static destruction
  return *r;
}

}  // namespace

void register_exporter_factory(std::string name, ExporterFactory factory) {
  if (name.empty()) throw Error("register_exporter_factory: the exporter name is empty");
  if (!factory) {
    throw Error("register_exporter_factory: the factory for '" + name + "' is empty");
  }
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.factories[std::move(name)] = std::move(factory);
}

void register_exporter_factory(
    std::string name,
    std::function<std::unique_ptr<SpanExporter>(const Environment& env)> factory) {
  if (!factory) {
    throw Error("register_exporter_factory: the factory for '" + name + "' is empty");
  }
  register_exporter_factory(
      std::move(name),
      ExporterFactory(
          [f = std::move(factory)](const Environment& env, metrics::Registry*) { return f(env); }));
}

bool has_exporter_factory(std::string_view name) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return r.factories.find(name) != r.factories.end();
}

ExporterFactory exporter_factory(std::string_view name) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.factories.find(name);
  return it == r.factories.end() ? ExporterFactory() : it->second;
}

std::vector<std::string> exporter_factory_names() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& [name, f] : r.factories) names.push_back(name);
  return names;
}

}  // namespace vigil::trace
