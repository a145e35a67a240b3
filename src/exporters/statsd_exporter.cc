#include "vigil/exporters/statsd_exporter.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <cmath>
#include <deque>
#include <mutex>
#include <thread>

#include "core/detail/text.h"
#include "statsd_encoding.h"
#include "statsd_transport.h"
#include "trace/bounded_queue.h"
#include "vigil/core/error.h"

namespace vigil::exporters {

std::string_view to_string(StatsdFlavor flavor) noexcept {
  return flavor == StatsdFlavor::kEtsy ? "statsd" : "dogstatsd";
}

// ---------------------------------------------------------------------------------------------
// Addresses

namespace {

constexpr std::size_t kMaxUnixPath = 107;  // sizeof(sockaddr_un::sun_path) - 1 on Linux

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::optional<StatsdAddress> address_error(std::string* error, std::string why) {
  if (error != nullptr) *error = std::move(why);
  return std::nullopt;
}

}  // namespace

std::optional<StatsdAddress> StatsdAddress::parse(std::string_view text, std::string* error) {
  StatsdAddress a;
  std::string_view path;
  bool unix_socket = true;
  if (starts_with(text, "unixstream://")) {
    a.transport = StatsdTransport::kUnixStream;
    path = text.substr(13);
  } else if (starts_with(text, "unixgram://")) {
    a.transport = StatsdTransport::kUnixDatagram;
    path = text.substr(11);
  } else if (starts_with(text, "unix://")) {
    a.transport = StatsdTransport::kUnixDatagram;
    path = text.substr(7);
  } else if (starts_with(text, "unix:")) {
    a.transport = StatsdTransport::kUnixDatagram;
    path = text.substr(5);
  } else {
    unix_socket = false;
  }
  if (unix_socket) {
    if (path.empty()) return address_error(error, "has an empty socket path");
    if (path.size() > kMaxUnixPath) {
      return address_error(error, "has a socket path longer than 107 bytes");
    }
    if (path.find('\0') != std::string_view::npos) {
      return address_error(error, "has a NUL in its socket path");
    }
    a.path = std::string(path);
    return a;
  }
  std::string_view hp = starts_with(text, "udp://") ? text.substr(6) : text;
  std::string_view host;
  std::string_view port;
  if (starts_with(hp, "[")) {
    const std::size_t close = hp.find(']');
    if (close == std::string_view::npos || close + 1 >= hp.size() || hp[close + 1] != ':') {
      return address_error(error, "is not [IPV6]:PORT");
    }
    host = hp.substr(1, close - 1);
    port = hp.substr(close + 2);
  } else {
    const std::size_t colon = hp.rfind(':');
    if (colon == std::string_view::npos) return address_error(error, "has no :PORT");
    host = hp.substr(0, colon);
    port = hp.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return address_error(error, "needs brackets around an IPv6 address ([::1]:8125)");
    }
  }
  if (host.empty()) return address_error(error, "has an empty host");
  unsigned value = 0;
  const auto r = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || value == 0 ||
      value > 65535) {
    return address_error(error, "has a port that is not 1..65535");
  }
  a.transport = StatsdTransport::kUdp;
  a.host = std::string(host);
  a.port = static_cast<uint16_t>(value);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Options

namespace {

bool valid_prefix(std::string_view p) {
  return std::all_of(p.begin(), p.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

constexpr std::size_t kMaxBuffer = std::size_t{1} << 24;

}  // namespace

void StatsdOptions::validate() const {
  std::string why;
  if (!StatsdAddress::parse(address, &why)) {
    throw Error("StatsD exporter: address '" + address + "' " + why);
  }
  if (max_packet_size != 0 && (max_packet_size < 64 || max_packet_size > 65507)) {
    throw Error("StatsD exporter: max_packet_size " + std::to_string(max_packet_size) +
                " is not 0 (the default) or 64..65507");
  }
  if (!valid_prefix(prefix)) {
    throw Error("StatsD exporter: prefix '" + prefix +
                "' may hold only letters, digits, '_', '-' and '.'");
  }
  for (const auto& [k, v] : constant_tags) {
    if (k.empty()) throw Error("StatsD exporter: a constant tag has an empty key");
  }
  if (raw_buffer_size < 16 || raw_buffer_size > kMaxBuffer) {
    throw Error("StatsD exporter: raw_buffer_size is not 16..16777216");
  }
  if (max_set_members < 1 || max_set_members > kMaxBuffer) {
    throw Error("StatsD exporter: max_set_members is not 1..16777216");
  }
  if (max_pending_events < 1 || max_pending_events > kMaxBuffer) {
    throw Error("StatsD exporter: max_pending_events is not 1..16777216");
  }
}

std::optional<StatsdOptions> StatsdOptions::from_environment(const trace::Environment& env) {
  StatsdOptions o;
  std::optional<std::string> address = env.get("VIGIL_STATSD_ADDRESS");
  std::string_view source = "VIGIL_STATSD_ADDRESS";
  if (!address) {
    if (auto url = env.get("DD_DOGSTATSD_URL")) {
      address = std::move(url);
      source = "DD_DOGSTATSD_URL";
    } else if (auto host = env.get("DD_AGENT_HOST")) {
      const int64_t port = env.get_int("DD_DOGSTATSD_PORT", 8125, 1, 65535);
      const bool v6 = host->find(':') != std::string::npos;
      address = (v6 ? "[" + *host + "]" : *host) + ":" + std::to_string(port);
      source = "DD_AGENT_HOST";
    }
  }
  if (!address) return std::nullopt;
  std::string why;
  if (!StatsdAddress::parse(*address, &why)) {
    env.warn(std::string(source) + "='" + *address + "' " + why +
             " (HOST:PORT, udp://HOST:PORT, unix:///PATH, unix:PATH, unixgram://PATH or "
             "unixstream://PATH): StatsD exporter not enabled");
    return std::nullopt;
  }
  o.address = *address;
  if (auto flavor = env.get("VIGIL_STATSD_FLAVOR")) {
    const std::string f = vigil::detail::ascii_lower(vigil::detail::trim(*flavor));
    if (f == "statsd") {
      o.flavor = StatsdFlavor::kEtsy;
    } else if (f == "dogstatsd") {
      o.flavor = StatsdFlavor::kDogStatsd;
    } else {
      env.warn("VIGIL_STATSD_FLAVOR='" + *flavor +
               "' is not statsd or dogstatsd: StatsD exporter not enabled");
      return std::nullopt;
    }
  }
  if (auto prefix = env.get("VIGIL_STATSD_PREFIX")) {
    if (valid_prefix(*prefix)) {
      o.prefix = *prefix;
    } else {
      env.warn("VIGIL_STATSD_PREFIX='" + *prefix +
               "' may hold only letters, digits, '_', '-' and '.': no prefix");
    }
  }
  if (auto tags = env.get("VIGIL_STATSD_TAGS")) {
    vigil::detail::for_each_list_member(*tags, ',', [&](std::string_view member) {
      const vigil::detail::SplitPair kv = vigil::detail::split_pair(member, ':');
      if (kv.first.empty()) {
        env.warn("VIGIL_STATSD_TAGS: entry '" + std::string(member) +
                 "' has an empty key: skipped");
        return;
      }
      o.constant_tags.emplace_back(std::string(kv.first), std::string(kv.second));
    });
  }
  if (o.flavor == StatsdFlavor::kDogStatsd) {
    // As Datadog's own clients do (unified service tagging).
    static constexpr std::pair<std::string_view, std::string_view> kDd[] = {
        {"DD_ENTITY_ID", "dd.internal.entity_id"},
        {"DD_ENV", "env"},
        {"DD_SERVICE", "service"},
        {"DD_VERSION", "version"}};
    for (const auto& [var, tag] : kDd) {
      if (auto v = env.get(var)) o.constant_tags.emplace_back(std::string(tag), *v);
    }
  }
  o.max_packet_size =
      static_cast<std::size_t>(env.get_int("VIGIL_STATSD_MAX_PACKET", 0, 64, 65507));
  return o;
}

// ---------------------------------------------------------------------------------------------
// Service checks and events

namespace {

// Protocol characters out of free text: '|' and NUL become '_', newlines "\n" (two characters)
// when `escape_newlines`, else '_'.
void append_text(std::string& out, std::string_view s, bool escape_newlines) {
  for (char c : s) {
    if (c == '\n') {
      out += escape_newlines ? "\\n" : "_";
    } else if (c == '\r') {
      if (!escape_newlines) out += '_';
    } else if (c == '|' || c == '\0') {
      out += '_';
    } else {
      out += c;
    }
  }
}

void append_tag_field(std::string& out, const statsd::Tags& constant, const statsd::Tags& tags) {
  if (constant.empty() && tags.empty()) return;
  out += "|#";
  statsd::append_tags(out, constant);
  if (!constant.empty() && !tags.empty()) out += ',';
  statsd::append_tags(out, tags);
}

void append_timestamp(std::string& out, double ts) {
  if (!(ts > 0) || !std::isfinite(ts)) return;
  out += "|d:";
  out += std::to_string(static_cast<int64_t>(ts));
}

}  // namespace

std::string format_service_check(const StatsdServiceCheck& check, const statsd::Tags& constant) {
  std::string out = "_sc|";
  append_text(out, check.name, false);
  out += '|';
  out += static_cast<char>('0' + std::min<int>(static_cast<int>(check.status), 3));
  append_timestamp(out, check.timestamp);
  if (!check.hostname.empty()) {
    out += "|h:";
    append_text(out, check.hostname, false);
  }
  append_tag_field(out, constant, check.tags);
  if (!check.message.empty()) {
    out += "|m:";
    append_text(out, check.message, true);
  }
  return out;
}

std::string format_event(const StatsdEvent& event, const statsd::Tags& constant) {
  std::string title;
  std::string text;
  append_text(title, event.title, true);
  append_text(text, event.text, true);
  std::string out = "_e{" + std::to_string(title.size()) + "," + std::to_string(text.size()) +
                    "}:" + title + "|" + text;
  append_timestamp(out, event.timestamp);
  const auto field = [&](std::string_view key, const std::string& value) {
    if (value.empty()) return;
    out += '|';
    out += key;
    append_text(out, value, false);
  };
  field("h:", event.hostname);
  field("k:", event.aggregation_key);
  field("p:", event.priority);
  field("s:", event.source_type);
  field("t:", event.alert_type);
  append_tag_field(out, constant, event.tags);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Raw instruments

namespace detail {

struct StatsdRawState {
  struct Value {
    uint32_t id = 0;
    double value = 0;
  };
  struct Instrument {
    std::string key;   // type + name + rate + tags: finds an existing one
    std::string head;  // "name:" (Etsy: labels appended to the name)
    std::string tail;  // "|ms|@0.5|#tags"
  };

  StatsdRawState(std::size_t capacity, std::size_t max_set)
      : queue(capacity), max_set_members(max_set) {}

  // Many producers (record()), one consumer (the export, under the send lock).
  trace::detail::BoundedMpmcQueue<Value> queue;
  uint64_t drained = 0;  // values taken out by exports (send lock)
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> sampled_out{0};
  std::atomic<bool> closed{false};

  std::mutex set_mu;
  std::vector<std::pair<uint32_t, std::string>> set_members;
  const std::size_t max_set_members;

  mutable std::mutex instruments_mu;
  std::deque<Instrument> instruments;
};

}  // namespace detail

namespace {

uint32_t next_random() noexcept {
  thread_local uint32_t state = [] {
    const auto h = std::hash<std::thread::id>()(std::this_thread::get_id());
    const auto t =
        static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    const auto s = static_cast<uint32_t>(h ^ t ^ (t >> 32));
    return s == 0 ? 0x9e3779b9u : s;
  }();
  uint32_t x = state;  // xorshift32
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  state = x;
  return x;
}

}  // namespace

StatsdRawInstrument::StatsdRawInstrument(std::shared_ptr<detail::StatsdRawState> state, uint32_t id,
                                         double sample_rate) noexcept
    : state_(std::move(state)), id_(id) {
  if (sample_rate < 1) {
    threshold_ = static_cast<uint32_t>(std::max(1.0, sample_rate * 4294967296.0));
  }
}

bool StatsdRawInstrument::sampled() const noexcept {
  return threshold_ == 0 || next_random() < threshold_;
}

void StatsdRawInstrument::record(double value) const noexcept {
  detail::StatsdRawState* s = state_.get();
  if (s == nullptr) return;
  if (!sampled()) {
    s->sampled_out.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!std::isfinite(value) || s->closed.load(std::memory_order_relaxed) ||
      !s->queue.try_push({id_, value})) {
    s->dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

StatsdSet::StatsdSet(std::shared_ptr<detail::StatsdRawState> state, uint32_t id) noexcept
    : state_(std::move(state)), id_(id) {}

void StatsdSet::record(std::string_view member) const noexcept {
  detail::StatsdRawState* s = state_.get();
  if (s == nullptr) return;
  const bool bad = member.empty() || member.size() > 256 ||
                   member.find_first_of(std::string_view("|:#,\r\n\0", 8)) != member.npos;
  if (bad || s->closed.load(std::memory_order_relaxed)) {
    s->dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  try {
    std::lock_guard lock(s->set_mu);
    if (s->set_members.size() >= s->max_set_members) {
      s->dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    s->set_members.emplace_back(id_, std::string(member));
  } catch (...) {  // std::bad_alloc
    s->dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

void StatsdSet::record(int64_t member) const noexcept {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, member);
  record(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
}

// ---------------------------------------------------------------------------------------------
// The exporter

class StatsdExporter::Impl {
 public:
  explicit Impl(StatsdOptions o)
      : options(std::move(o)),
        address(*StatsdAddress::parse(options.address)),
        max_packet(options.max_packet_size != 0                 ? options.max_packet_size
                   : address.transport == StatsdTransport::kUdp ? 1432
                                                                : 8192),
        encoder(options),
        socket(address),
        raw(std::make_shared<detail::StatsdRawState>(std::bit_ceil(options.raw_buffer_size),
                                                     options.max_set_members)) {}

  // Counts what the packer hands to the socket.
  struct Sink final : statsd::Packer::Sink {
    Impl& impl;
    ExportDeadline deadline;
    uint64_t units_sent = 0, units_dropped = 0, packets = 0, dropped_packets = 0, bytes = 0;
    Sink(Impl& i, ExportDeadline d) : impl(i), deadline(d) {}
    void packet(std::string_view packet, std::size_t units) override {
      if (impl.socket.send(packet, deadline, impl.aborted) == statsd::Socket::Result::kSent) {
        ++packets;
        bytes += impl.socket.last_bytes();
        units_sent += units;
      } else {
        ++dropped_packets;
        units_dropped += units;
      }
    }
  };

  // Sends the queued service checks and events (send_mu held).
  std::optional<Sink> send_events(ExportDeadline deadline) {
    std::deque<std::string> batch;
    {
      std::lock_guard lock(events_mu);
      batch.swap(events);
    }
    if (batch.empty()) return std::nullopt;
    std::optional<Sink> sink(std::in_place, *this, deadline);
    statsd::Packer packer(max_packet, *sink);
    for (const std::string& e : batch) packer.add(e);
    packer.flush();
    std::lock_guard lock(stats_mu);
    stats.events_sent += sink->units_sent;
    stats.events_dropped += sink->units_dropped + packer.oversized();
    account(*sink);
    return sink;
  }

  // Adds a sink's packet counts to stats (stats_mu held).
  void account(const Sink& s) {
    stats.packets += s.packets;
    stats.bytes += s.bytes;
    stats.dropped_packets += s.dropped_packets;
    if (s.dropped_packets > 0) stats.last_error = socket.error();
  }

  bool queue_event(std::string datagram) {
    if (options.flavor != StatsdFlavor::kDogStatsd || closed.load()) {
      std::lock_guard lock(stats_mu);
      ++stats.events_dropped;
      return false;
    }
    {
      std::lock_guard lock(events_mu);
      if (events.size() >= options.max_pending_events) {
        std::lock_guard slock(stats_mu);
        ++stats.events_dropped;
        return false;
      }
      events.push_back(std::move(datagram));
    }
    // Send now unless an export holds the socket (it sends the queue when it is done).
    std::unique_lock lock(send_mu, std::try_to_lock);
    if (lock.owns_lock() && !closed.load()) {
      socket.begin();
      send_events(ExportClock::now() + std::chrono::milliseconds(50));
    }
    return true;
  }

  ExportOutcome export_metrics(const MetricsSnapshot& snapshot, ExportDeadline deadline) {
    ExportOutcome out;
    std::lock_guard lock(send_mu);
    if (closed.load()) {
      out.ok = false;
      out.reason = "shutdown";
      out.error = "the StatsD exporter is closed";
      out.dropped_points = snapshot.series();
      return out;
    }
    socket.begin();
    Sink sink(*this, deadline);
    statsd::Packer packer(max_packet, sink);
    statsd::EncodeCounts counts;
    encoder.encode(snapshot, packer, counts);
    drain_raw(packer, counts);
    packer.flush();
    const std::optional<Sink> ev = send_events(deadline);

    const uint64_t raw_dropped = raw->dropped.load(std::memory_order_relaxed);
    const uint64_t new_raw_drops = raw_dropped - raw_dropped_reported;
    raw_dropped_reported = raw_dropped;
    out.points = sink.units_sent;
    out.dropped_points =
        sink.units_dropped + packer.oversized() + counts.unsendable + new_raw_drops;
    out.bytes = sink.bytes + (ev ? ev->bytes : 0);
    out.requests = sink.packets + (ev ? ev->packets : 0);
    const uint64_t failed = sink.dropped_packets + (ev ? ev->dropped_packets : 0);
    if (failed > 0) {
      out.ok = false;
      out.reason = socket.reason();
      out.error = to_string(options.flavor);
      out.error += ": " + std::to_string(failed) + " packet(s) not sent: " + socket.error();
    }
    std::lock_guard slock(stats_mu);
    ++stats.exports;
    stats.lines += sink.units_sent;
    stats.dropped_lines += sink.units_dropped + packer.oversized();
    stats.oversized_lines += packer.oversized();
    stats.unsendable_values += counts.unsendable;
    account(sink);
    return out;
  }

  void drain_raw(statsd::Packer& packer, statsd::EncodeCounts& counts) {
    detail::StatsdRawState& r = *raw;
    std::vector<std::pair<uint32_t, std::string>> members;
    {
      std::lock_guard lock(r.set_mu);
      members.swap(r.set_members);
    }
    std::lock_guard lock(r.instruments_mu);
    detail::StatsdRawState::Value v;
    // At most one buffer's worth: values recorded while draining wait for the next export.
    for (std::size_t n = 0; n < r.queue.capacity() && r.queue.try_pop(v); ++n) {
      ++r.drained;
      const auto& inst = r.instruments[v.id];
      line.assign(inst.head);
      statsd::append_value(line, v.value);
      line += inst.tail;
      ++counts.units;
      packer.add(line);
    }
    for (const auto& [set_id, member] : members) {
      const auto& inst = r.instruments[set_id];
      line.assign(inst.head);
      line += member;
      line += inst.tail;
      ++counts.units;
      packer.add(line);
    }
  }

  uint32_t instrument(std::string_view type, std::string_view name, const statsd::Tags& tags,
                      double rate) {
    if (name.empty()) throw Error("StatsD exporter: a raw instrument needs a name");
    if (!(rate > 0 && rate <= 1)) {
      throw Error("StatsD exporter: sample rate of '" + std::string(name) + "' is not in (0, 1]");
    }
    if ((type == "h" || type == "d") && options.flavor == StatsdFlavor::kEtsy) {
      throw Error("StatsD exporter: '" + std::string(name) + "': Etsy StatsD has no " +
                  (type == "h" ? "histogram (h)" : "distribution (d)") +
                  "; use timer() or the dogstatsd flavour");
    }
    detail::StatsdRawState::Instrument inst;
    std::string etsy_suffix;
    inst.tail = encoder.line_tail(type, rate, tags, &etsy_suffix);
    inst.head = encoder.metric_name(name);
    inst.head += etsy_suffix;
    inst.head += ':';
    inst.key = inst.head + inst.tail;
    std::lock_guard lock(raw->instruments_mu);
    for (std::size_t i = 0; i < raw->instruments.size(); ++i) {
      if (raw->instruments[i].key == inst.key) return static_cast<uint32_t>(i);
    }
    if (raw->instruments.size() >= 65536) {
      throw Error("StatsD exporter: more than 65536 raw instruments");
    }
    raw->instruments.push_back(std::move(inst));
    return static_cast<uint32_t>(raw->instruments.size() - 1);
  }

  StatsdOptions options;
  StatsdAddress address;
  std::size_t max_packet;
  statsd::Encoder encoder;
  std::mutex send_mu;  // the socket, the encoder's state and raw draining
  statsd::Socket socket;
  std::string line;
  std::atomic<bool> aborted{false};
  std::atomic<bool> closed{false};
  std::shared_ptr<detail::StatsdRawState> raw;
  uint64_t raw_dropped_reported = 0;
  std::mutex events_mu;
  std::deque<std::string> events;
  mutable std::mutex stats_mu;
  StatsdStats stats;
};

StatsdExporter::StatsdExporter(StatsdOptions options) {
  options.validate();
  impl_ = std::make_unique<Impl>(std::move(options));
}

StatsdExporter::~StatsdExporter() { close(); }

std::string_view StatsdExporter::name() const noexcept { return to_string(impl_->options.flavor); }

ExportOutcome StatsdExporter::export_metrics(const MetricsSnapshot& snapshot,
                                             ExportDeadline deadline) {
  try {
    return impl_->export_metrics(snapshot, deadline);
  } catch (const std::exception& e) {
    ExportOutcome out;
    out.ok = false;
    out.reason = "encoding";
    out.error = std::string("StatsD exporter: ") + e.what();
    out.dropped_points = snapshot.series();
    return out;
  }
}

void StatsdExporter::abort() noexcept { impl_->aborted.store(true); }

void StatsdExporter::close() noexcept {
  if (!impl_ || impl_->closed.exchange(true)) return;
  impl_->raw->closed.store(true);
  std::lock_guard lock(impl_->send_mu);
  impl_->socket.close();
}

StatsdTimer StatsdExporter::timer(std::string_view name, const statsd::Tags& tags,
                                  double sample_rate) {
  const uint32_t id = impl_->instrument("ms", name, tags, sample_rate);
  return StatsdTimer(StatsdRawInstrument(impl_->raw, id, sample_rate));
}

StatsdRawInstrument StatsdExporter::histogram(std::string_view name, const statsd::Tags& tags,
                                              double sample_rate) {
  const uint32_t id = impl_->instrument("h", name, tags, sample_rate);
  return StatsdRawInstrument(impl_->raw, id, sample_rate);
}

StatsdRawInstrument StatsdExporter::distribution(std::string_view name, const statsd::Tags& tags,
                                                 double sample_rate) {
  const uint32_t id = impl_->instrument("d", name, tags, sample_rate);
  return StatsdRawInstrument(impl_->raw, id, sample_rate);
}

StatsdSet StatsdExporter::set(std::string_view name, const statsd::Tags& tags) {
  const uint32_t id = impl_->instrument("s", name, tags, 1.0);
  return StatsdSet(impl_->raw, id);
}

bool StatsdExporter::service_check(const StatsdServiceCheck& check) {
  return impl_->queue_event(format_service_check(check, impl_->options.constant_tags));
}

bool StatsdExporter::event(const StatsdEvent& event) {
  return impl_->queue_event(format_event(event, impl_->options.constant_tags));
}

const StatsdOptions& StatsdExporter::options() const noexcept { return impl_->options; }

StatsdStats StatsdExporter::stats() const {
  StatsdStats s;
  {
    std::lock_guard lock(impl_->stats_mu);
    s = impl_->stats;
  }
  const detail::StatsdRawState& r = *impl_->raw;
  s.raw_dropped = r.dropped.load(std::memory_order_relaxed);
  s.raw_sampled_out = r.sampled_out.load(std::memory_order_relaxed);
  {
    std::lock_guard lock(impl_->send_mu);
    s.raw_recorded = r.drained + r.queue.approx_size();
  }
  return s;
}

}  // namespace vigil::exporters
