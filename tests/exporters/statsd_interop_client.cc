// tests/exporters/statsd_interop_client.cc: the vigil side of the StatsD interop test
// (statsd_interop_test.sh). Records into a registry and raw instruments, exports twice to the
// real Etsy StatsD daemon at 127.0.0.1:PORT with both flavours (prefixes "etsy" and "dog"), and
// writes what vigil held, named as the daemon names it, to EXPECTED_JSON:
//   {"counters": {...}, "gauges": {...}, "timers": {...}, "timer_counters": {...}, "sets": {...}}
//
//   statsd_interop_client PORT EXPECTED_JSON
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "vigil/exporters/statsd_exporter.h"
#include "vigil/metrics/registry.h"

using vigil::exporters::StatsdExporter;
using vigil::exporters::StatsdFlavor;
using vigil::exporters::StatsdOptions;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: statsd_interop_client PORT EXPECTED_JSON\n";
    return 2;
  }
  const std::string address = std::string("127.0.0.1:") + argv[1];
  vigil::metrics::Registry registry;
  auto& jobs = registry.counter("jobs_total", "Jobs done", {"kind"});
  auto& temperature = registry.gauge("temperature", "Degrees");
  auto& level = registry.gauge("level", "Fill level");
  auto& latency = registry.histogram("latency_seconds", "Latency", {}, {.buckets = {0.5, 1}});

  StatsdOptions eo;
  eo.flavor = StatsdFlavor::kEtsy;
  eo.address = address;
  eo.prefix = "etsy";
  StatsdOptions dopt;
  dopt.flavor = StatsdFlavor::kDogStatsd;
  dopt.address = address;
  dopt.prefix = "dog";
  dopt.constant_tags = {{"env", "test"}};
  StatsdExporter etsy(eo);
  StatsdExporter dog(dopt);
  auto etsy_timer = etsy.timer("db.query");
  auto etsy_sampled = etsy.timer("sampled", {}, 0.5);
  auto etsy_users = etsy.set("users");
  auto dog_timer = dog.timer("db.query", {{"db", "users"}});
  auto dog_users = dog.set("users");

  bool ok = true;
  const auto export_both = [&] {
    const auto snapshot = vigil::exporters::collect_snapshot(registry);
    for (StatsdExporter* e : {&etsy, &dog}) {
      const auto out = e->export_metrics(
          snapshot, vigil::exporters::ExportClock::now() + std::chrono::seconds(2));
      if (!out.ok || out.dropped_points != 0) {
        std::cerr << e->name() << ": export failed: " << out.error << "\n";
        ok = false;
      }
    }
  };

  // Round 1.
  jobs.labels({"a"}).inc(5);
  jobs.labels({"b"}).inc(1);
  temperature.get().set(-3.5);
  level.get().set(42);
  latency.get().observe(0.25);
  latency.get().observe(0.5);
  for (double v : {12.5, 7.0}) {
    etsy_timer.record(v);
    dog_timer.record(v);
  }
  for (int i = 0; i < 100; ++i) etsy_sampled.record(1);
  for (const char* m : {"alice", "bob"}) {
    etsy_users.record(m);
    dog_users.record(m);
  }
  export_both();
  // Round 2: counters move on; the negative gauge is sent again (the daemon must keep -3.5,
  // not subtract it a second time).
  jobs.labels({"a"}).inc(2);
  level.get().set(41);
  latency.get().observe(2);
  etsy_timer.record(100);
  dog_timer.record(100);
  etsy_users.record("alice");
  dog_users.record("alice");
  export_both();

  const double sampled_sent =
      100.0 - static_cast<double>(etsy.stats().raw_sampled_out);  // each counts 1/0.5
  nlohmann::json expected = {
      {"counters",
       {{"etsy.jobs.a", 7},
        {"etsy.jobs.b", 1},
        {"etsy.latency_seconds_count", 3},
        {"etsy.latency_seconds_sum", 2.75},
        // DogStatsD tags: the daemon appends them to the key as ";k=v".
        {"dog.jobs;env=test;kind=a", 7},
        {"dog.jobs;env=test;kind=b", 1},
        {"dog.latency_seconds_count;env=test", 3},
        {"dog.latency_seconds_sum;env=test", 2.75}}},
      // dog.temperature is not checked: DogStatsD writes a negative gauge as is (the Datadog
      // agent sets it), which an Etsy daemon reads as a decrement.
      {"gauges", {{"etsy.temperature", -3.5}, {"etsy.level", 41}, {"dog.level;env=test", 41}}},
      {"timers",
       {{"etsy.db.query", {12.5, 7, 100}}, {"dog.db.query;env=test;db=users", {12.5, 7, 100}}}},
      {"timer_counters", {{"etsy.db.query", 3}, {"etsy.sampled", 2 * sampled_sent}}},
      {"sets", {{"etsy.users", {"alice", "bob"}}, {"dog.users;env=test", {"alice", "bob"}}}}};
  std::ofstream(argv[2]) << expected.dump(2) << "\n";
  return ok ? 0 : 1;
}
