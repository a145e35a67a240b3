// vigil/exporters/statsd_exporter.h: push metrics to a StatsD daemon (Etsy line protocol) or a
// Datadog agent (DogStatsD), over UDP or a Unix domain socket, from vigil's aggregated state;
// opt-in raw instruments (timers `ms`, histograms `h`, distributions `d`, sets `s`) for values a
// StatsD server should aggregate itself; DogStatsD service checks and events.
//
//   vigil::exporters::StatsdOptions o;
//   o.flavor = vigil::exporters::StatsdFlavor::kDogStatsd;
//   o.address = "127.0.0.1:8125";            // or "unix:///var/run/datadog/dsd.socket"
//   o.prefix = "myapp";                      // "myapp.http_requests:3|c|#env:prod,route:/a"
//   o.constant_tags = {{"env", "prod"}};
//   auto statsd = std::make_unique<vigil::exporters::StatsdExporter>(o);
//   auto timer = statsd->timer("db.query", {{"db", "users"}}, 0.5);  // raw values, opt-in
//   timer.record(std::chrono::microseconds(1500));                     // "...:1.5|ms|@0.5|#..."
//   statsd->service_check({.name = "myapp.db", .status = StatsdCheckStatus::kCritical});
//   engine.add(std::move(statsd));                                    // PeriodicExporter
//
// What a cumulative snapshot becomes (one line per value; "NAME" is the metric name below):
//   counter    NAME:<change since the previous export>|c     (DeltaTracker's rules: a new
//                                                             series sends its whole value, a
//                                                             drop is a reset; unchanged
//                                                             counters are not sent unless
//                                                             send_unchanged_counters)
//   gauge      NAME:<value>|g. Etsy: a negative value is sent as "NAME:0|g\nNAME:-5|g" in the
//              same packet, because Etsy StatsD reads a signed gauge as a change; DogStatsD:
//              "NAME:-5|g". A positive value never has a sign.
//   histogram  NAME_count:<change>|c and NAME_sum:<change>|c (none while nothing was
//              observed); with histogram_buckets also NAME_bucket:<change>|c per bucket with
//              the label le=<bound> ("+Inf" last). StatsD computes no quantiles from these: use
//              a raw timer / histogram / distribution for that.
//   summary    NAME_count and NAME_sum as histograms; with summary_quantiles (default) each
//              quantile as NAME:<value>|g with the label quantile=<q>
//   info       not sent (StatsD has no such type)
// Values are written in the shortest form that reads back as the same double ("0.1", "5",
// "1e+21"); NaN and infinite values are not sendable and counted as dropped.
//
// Names. NAME = prefix + "." + family name (no "." when the prefix is empty or ends with one),
// the family name as registered (no `_total` suffix: StatsD's type says counter), ':' in it
// replaced by '_'. With underscores_to_dots, '_' in the family name (not the prefix) becomes '.'
// ("http_requests" -> "http.requests").
// Labels. DogStatsD: tags "|#k:v,k2:v2", constant tags first, then the series' labels in the
// family's order; in keys and values ',', '|', '#', CR, LF and NUL are replaced by '_' (the
// agent would split on them; ':' too in keys), and a tag with an empty value is sent as the
// bare key.
// Etsy StatsD has no tags: etsy_labels says what labels become (constant tags are not sent):
//   kAppendValues (default)  NAME.<value1>.<value2>  ("http_requests.GET.200")
//   kAppendPairs             NAME.<key1>.<value1>...  ("http_requests.method.GET.code.200")
//   kDrop                    NAME only (series of one family then share one StatsD metric:
//                            counters add up, gauges overwrite one another)
// where every character of an appended part outside [A-Za-z0-9_-] is replaced by '_' and an
// empty value is written "_".
//
// Packets. Lines are joined with '\n' into packets of at most max_packet_size bytes (default
// 1432 for UDP, 8192 for Unix sockets), never splitting a line; a line longer than that is
// dropped and counted (StatsdStats::oversized_lines). Every send is non-blocking: a full socket
// (EAGAIN) or a refused one (ECONNREFUSED, no listener) drops that packet and counts it; a Unix
// stream socket that cannot take a whole frame before the export's deadline is closed (a frame
// cut in the middle would break the stream) and reopened at the next export.
//
// Addresses (StatsdOptions::address):
//   "HOST:PORT", "udp://HOST:PORT", "[IPV6]:PORT"    UDP (HOST resolved when the socket is
//                                                     opened: at the first export, and again
//                                                     after an error)
//   "unix:///PATH", "unix:PATH", "unixgram://PATH"   Unix domain socket, datagram
//   "unixstream://PATH"                              Unix domain socket, stream: every packet
//                                                     preceded by its length as 4 bytes,
//                                                     little-endian (the Datadog agent's
//                                                     dogstatsd_stream_socket framing)
//
// Thread-safety: export_metrics runs on the engine's thread for this exporter. The raw
// instruments' record() is lock-free (a compare-and-swap on the buffer's position; any thread,
// noexcept, no allocation; ~10 ns, bench/statsd_bench.cc); service_check() and event() may be
// called from any thread. Raw values, service checks and events are sent by the next export
// (service checks and events at once when no export is running).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/exporters/metric_exporter.h"
#include "vigil/trace/environment.h"

namespace vigil::exporters {

enum class StatsdFlavor : uint8_t {
  kEtsy,       // "statsd": the Etsy line protocol (no tags, no h/d, no events)
  kDogStatsd,  // "dogstatsd": Datadog's extension (tags, h, d, service checks, events)
};
// "statsd" or "dogstatsd".
std::string_view to_string(StatsdFlavor flavor) noexcept;

enum class StatsdTransport : uint8_t { kUdp, kUnixDatagram, kUnixStream };

// What labels become in the Etsy flavour (see the header comment).
enum class StatsdEtsyLabels : uint8_t { kAppendValues, kAppendPairs, kDrop };

// A parsed StatsdOptions::address.
struct StatsdAddress {
  StatsdTransport transport = StatsdTransport::kUdp;
  std::string host;   // UDP: a name or an IP address (no brackets)
  uint16_t port = 0;  // UDP
  std::string path;   // Unix sockets

  // Parses the forms listed in the header comment. nullopt (and `error` says why) for anything
  // else: no port, a port out of 1..65535, an empty path, a path longer than a sockaddr_un
  // holds (107 bytes). Never throws except std::bad_alloc.
  static std::optional<StatsdAddress> parse(std::string_view text, std::string* error = nullptr);
};

struct StatsdOptions {
  StatsdFlavor flavor = StatsdFlavor::kDogStatsd;
  // Where to send (see the header comment for the forms).
  std::string address = "127.0.0.1:8125";
  // 0: 1432 for UDP (fits an Ethernet MTU), 8192 for Unix sockets. Otherwise 64..65507.
  std::size_t max_packet_size = 0;
  // Prepended to every metric name with a '.' (none when empty or already ending with '.').
  // Letters, digits, '_', '-', '.' only.
  std::string prefix;
  // DogStatsD tags added to every line (and to service checks and events), in order. Keys
  // non-empty; sanitised like labels. Not sent in the Etsy flavour.
  std::vector<std::pair<std::string, std::string>> constant_tags;
  // See the header comment.
  bool underscores_to_dots = false;
  StatsdEtsyLabels etsy_labels = StatsdEtsyLabels::kAppendValues;
  bool send_unchanged_counters = false;  // also send counters whose change is 0 (as ":0|c")
  bool histogram_buckets = false;        // also send NAME_bucket per bucket
  bool summary_quantiles = true;         // send summary quantiles as gauges
  // Raw instruments: room for this many values recorded between two exports (over all raw
  // instruments but sets), rounded up to a power of two, 16..2^24; values recorded when it is
  // full are dropped and counted. Set members have a bound of their own (max_set_members).
  std::size_t raw_buffer_size = 16384;
  std::size_t max_set_members = 4096;
  // Service checks and events waiting for the socket; more are dropped and counted.
  std::size_t max_pending_events = 1024;

  // The options the environment gives; nullopt when VIGIL_STATSD_ADDRESS is unset and no
  // DD_AGENT_HOST / DD_DOGSTATSD_URL is set either:
  //   VIGIL_STATSD_ADDRESS     the address (forms above)
  //   VIGIL_STATSD_FLAVOR      statsd | dogstatsd (default dogstatsd)
  //   VIGIL_STATSD_PREFIX      prefix
  //   VIGIL_STATSD_TAGS        constant tags, "k:v,k2:v2" (an entry without ':' is a bare tag)
  //   VIGIL_STATSD_MAX_PACKET  max_packet_size, 64..65507
  // Datadog's own variables, used when VIGIL_STATSD_ADDRESS is unset (flavour dogstatsd unless
  // VIGIL_STATSD_FLAVOR says otherwise):
  //   DD_DOGSTATSD_URL         an address as above ("udp://host:8125", "unix:///path", ...)
  //   DD_AGENT_HOST            host, with DD_DOGSTATSD_PORT (default 8125)
  //   DD_ENTITY_ID, DD_ENV, DD_SERVICE, DD_VERSION  added as tags dd.internal.entity_id, env,
  //                                                  service, version (as Datadog's clients do)
  // A bad value is reported through env.warn (naming the variable, the value and the rule):
  // a bad address or flavour gives nullopt, other bad values their default. Never throws
  // (except std::bad_alloc).
  static std::optional<StatsdOptions> from_environment(
      const trace::Environment& env = trace::Environment());

  // Throws vigil::Error naming the first invalid option: an address that does not parse, a
  // max_packet_size out of range, a prefix with other characters, an empty tag key, buffer
  // sizes out of range. The constructor calls it.
  void validate() const;
};

// What one exporter has done since it was created. Counters only grow.
struct StatsdStats {
  uint64_t exports = 0;            // export_metrics calls
  uint64_t lines = 0;              // lines handed to the socket (in packets sent)
  uint64_t packets = 0;            // datagrams / stream frames sent
  uint64_t bytes = 0;              // bytes sent (stream: length prefixes included)
  uint64_t dropped_packets = 0;    // packets not sent (EAGAIN, ECONNREFUSED, no socket, deadline)
  uint64_t dropped_lines = 0;      // lines in those packets, plus the oversized ones
  uint64_t oversized_lines = 0;    // single lines longer than max_packet_size (dropped)
  uint64_t unsendable_values = 0;  // NaN / infinite values (not sent)
  uint64_t raw_recorded = 0;       // raw values taken into the buffer (set members not counted)
  uint64_t raw_dropped = 0;        // raw values dropped: buffer full (or exporter gone)
  uint64_t raw_sampled_out = 0;    // raw values skipped by their sample rate
  uint64_t events_sent = 0;        // service checks and events sent
  uint64_t events_dropped = 0;     // ... dropped (queue full, socket errors, Etsy flavour)
  std::string last_error;          // "" when none yet
};

namespace detail {
struct StatsdRawState;  // shared by an exporter and its raw instruments
}

// A raw instrument (StatsdExporter::timer, histogram, distribution): every recorded value is
// sent as its own line at the next export. Copyable, cheap; a default-constructed one records
// nothing. Outlives its exporter safely (values are then dropped and counted nowhere).
class StatsdRawInstrument {
 public:
  StatsdRawInstrument() = default;
  // Buffers `value` (with probability sample_rate). Lock-free (a compare-and-swap, retried only
  // under contention); never blocks, throws or allocates. A full buffer drops the value
  // (StatsdStats::raw_dropped). NaN and infinities are dropped.
  void record(double value) const noexcept;
  explicit operator bool() const noexcept { return state_ != nullptr; }

 protected:
  friend class StatsdExporter;
  StatsdRawInstrument(std::shared_ptr<detail::StatsdRawState> state, uint32_t id,
                      double sample_rate) noexcept;
  bool sampled() const noexcept;
  std::shared_ptr<detail::StatsdRawState> state_;
  uint32_t id_ = 0;
  uint32_t threshold_ = 0;  // sample when a 32-bit random number < threshold_ (0: always)
};

// A timer (`ms`): record(milliseconds) or record(duration).
class StatsdTimer : public StatsdRawInstrument {
 public:
  using StatsdRawInstrument::record;
  StatsdTimer() = default;
  template <class Rep, class Period>
  void record(std::chrono::duration<Rep, Period> d) const noexcept {
    record(std::chrono::duration<double, std::milli>(d).count());
  }

 private:
  friend class StatsdExporter;
  explicit StatsdTimer(StatsdRawInstrument base) noexcept : StatsdRawInstrument(std::move(base)) {}
};

// A set (`s`): counts distinct members per flush on the server. record(member) copies the
// member under a short lock (the only raw instrument that takes one or allocates; ~90 ns);
// members that are empty, longer than 256 bytes, or hold '|', ':', '#', ',', CR, LF or NUL are
// dropped and counted (StatsdStats::raw_dropped), as are members past max_set_members.
class StatsdSet {
 public:
  StatsdSet() = default;
  void record(std::string_view member) const noexcept;
  void record(int64_t member) const noexcept;
  explicit operator bool() const noexcept { return state_ != nullptr; }

 private:
  friend class StatsdExporter;
  StatsdSet(std::shared_ptr<detail::StatsdRawState> state, uint32_t id) noexcept;
  std::shared_ptr<detail::StatsdRawState> state_;
  uint32_t id_ = 0;
};

// DogStatsD service check status.
enum class StatsdCheckStatus : uint8_t { kOk = 0, kWarning = 1, kCritical = 2, kUnknown = 3 };

struct StatsdServiceCheck {
  std::string name;  // e.g. "myapp.db"; '|', CR, LF replaced by '_'
  StatsdCheckStatus status = StatsdCheckStatus::kOk;
  std::vector<std::pair<std::string, std::string>> tags;  // after the constant tags
  std::string message;   // "m:" (last field); newlines written as "\n" (two characters)
  std::string hostname;  // "h:" when not empty
  double timestamp = 0;  // "d:" Unix seconds when > 0
};

struct StatsdEvent {
  std::string title;
  std::string text;             // newlines written as "\n" (two characters), as DogStatsD wants
  std::string priority;         // "p:" normal | low; "" omits it
  std::string alert_type;       // "t:" error | warning | info | success; "" omits it
  std::string aggregation_key;  // "k:"
  std::string source_type;      // "s:"
  std::string hostname;         // "h:"
  double timestamp = 0;         // "d:" Unix seconds when > 0
  std::vector<std::pair<std::string, std::string>> tags;
};

// The datagrams (DogStatsD datagram format), sanitised as the header comment says; `constant`
// tags go first. Exposed for tests and for users with a socket of their own.
std::string format_service_check(const StatsdServiceCheck& check,
                                 const std::vector<std::pair<std::string, std::string>>& constant);
std::string format_event(const StatsdEvent& event,
                         const std::vector<std::pair<std::string, std::string>>& constant);

class StatsdExporter final : public MetricExporter {
 public:
  // Validates `options` (throws vigil::Error). Opens no socket: the first export (or the first
  // service check / event) does.
  explicit StatsdExporter(StatsdOptions options = {});
  ~StatsdExporter() override;
  StatsdExporter(const StatsdExporter&) = delete;
  StatsdExporter& operator=(const StatsdExporter&) = delete;

  // "statsd" or "dogstatsd".
  std::string_view name() const noexcept override;
  // Sends the snapshot as the header comment says, then the raw values buffered since the
  // previous export, then pending service checks and events. Never blocks past `deadline`;
  // never throws. ok is false when a packet could not be sent (reason "connection" or "io");
  // oversized lines and raw values dropped at record() time are counted in dropped_points
  // without failing the export.
  ExportOutcome export_metrics(const MetricsSnapshot& snapshot, ExportDeadline deadline) override;
  void abort() noexcept override;
  void close() noexcept override;

  // Raw instruments (opt-in, see the header comment). `name` gets the prefix like family names
  // (and is sanitised: ':', '|', '@', '#', ',', whitespace become '_'); `tags` after the
  // constant tags (Etsy: appended to the name as etsy_labels says); sample_rate in (0, 1]
  // (values are kept with that probability and sent with "|@rate"). Asking twice for the same
  // name, type, tags and rate returns the same instrument. Throws vigil::Error for an empty
  // name, a rate out of range, more than 65536 instruments, and histogram()/distribution() in the
  // Etsy flavour (Etsy StatsD has no h or d). Thread-safe; allocates.
  StatsdTimer timer(std::string_view name,
                    const std::vector<std::pair<std::string, std::string>>& tags = {},
                    double sample_rate = 1.0);
  StatsdRawInstrument histogram(std::string_view name,
                                const std::vector<std::pair<std::string, std::string>>& tags = {},
                                double sample_rate = 1.0);
  StatsdRawInstrument distribution(
      std::string_view name, const std::vector<std::pair<std::string, std::string>>& tags = {},
      double sample_rate = 1.0);
  StatsdSet set(std::string_view name,
                const std::vector<std::pair<std::string, std::string>>& tags = {});

  // DogStatsD service check / event: queued (bounded) and sent at once when no export holds
  // the socket (on the calling thread, waiting at most 50 ms on a full stream socket), else with
  // the next export. False when dropped: Etsy flavour (which has neither), queue
  // full, after close(). Thread-safe; never throws except std::bad_alloc.
  bool service_check(const StatsdServiceCheck& check);
  bool event(const StatsdEvent& event);

  const StatsdOptions& options() const noexcept;
  StatsdStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::exporters
