// vigil/trace/exporters.h: the built-in span exporters (OTLP/HTTP lives in vigil::exporters).
//
//   // A simple in-memory tracer: keep finished spans in memory, look them up by trace id.
//   auto memory = std::make_shared<vigil::trace::InMemorySpanStore>();
//   opts.processors.push_back(std::make_unique<vigil::trace::SimpleSpanProcessor>(
//       std::make_unique<vigil::trace::InMemoryExporter>(memory)));
//   ...
//   for (const SpanData& s : memory->trace(span.trace_id())) std::cout << s.name << '\n';
//   memory->clear();
//
//   // One JSON object per line, to a file (appended) or a stream:
//   auto jsonl = std::make_unique<vigil::trace::JsonLinesExporter>("/var/log/spans.jsonl");
//   // Human-readable lines on stdout (OTEL_TRACES_EXPORTER=console):
//   auto console = std::make_unique<vigil::trace::ConsoleExporter>();
//
// JSON line format (one span):
//   {"name":"llm_call","trace_id":"4bf9...","span_id":"00f0...","parent_span_id":"...",
//    "kind":"client","start_unix_nanos":...,"end_unix_nanos":...,"duration_ns":...,
//    "status":{"code":"error","message":"..."},"attributes":{"k":v,...},
//    "events":[{"name":...,"time_unix_nanos":...,"attributes":{...}}],"links":[...],
//    "dropped":{"attributes":0,"events":0,"links":0},"scope":{"name":...,"version":...},
//    "service.name":"..."}
#pragma once

#include <cstddef>
#include <deque>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vigil/trace/exporter.h"

namespace vigil::trace {

// Finished spans kept in memory, bounded (oldest dropped first). Thread-safe.
class InMemorySpanStore {
 public:
  explicit InMemorySpanStore(std::size_t max_spans = 100000);
  void add(const SpanData& span);
  // Copies of every span, in the order they ended.
  std::vector<SpanData> spans() const;
  // The spans of one trace, in the order they ended.
  std::vector<SpanData> trace(const TraceId& trace_id) const;
  // The spans named `name`.
  std::vector<SpanData> find(std::string_view name) const;
  std::size_t size() const;
  // Spans dropped because the store was full.
  uint64_t dropped() const;
  void clear();

 private:
  mutable std::mutex mutex_;
  std::size_t max_;
  std::deque<SpanData> spans_;
  uint64_t dropped_ = 0;
};

// Copies every exported span into an InMemorySpanStore (an in-memory tracer for tests).
class InMemoryExporter : public SpanExporter {
 public:
  explicit InMemoryExporter(
      std::shared_ptr<InMemorySpanStore> store = std::make_shared<InMemorySpanStore>());
  ExportResult export_spans(std::span<const SpanData* const> spans, Deadline deadline) override;
  std::string_view name() const noexcept override { return "memory"; }
  const std::shared_ptr<InMemorySpanStore>& store() const noexcept { return store_; }

 private:
  std::shared_ptr<InMemorySpanStore> store_;
};

// Appends `span` as one JSON object (no newline) to `out`.
void append_span_json(std::string& out, const SpanData& span);

// Writes one JSON object per span and line.
class JsonLinesExporter : public SpanExporter {
 public:
  // To a stream that must outlive the exporter.
  explicit JsonLinesExporter(std::ostream& out);
  // To a file, appended; throws vigil::Error when it cannot be opened.
  explicit JsonLinesExporter(const std::string& path);
  ~JsonLinesExporter() override;
  ExportResult export_spans(std::span<const SpanData* const> spans, Deadline deadline) override;
  bool force_flush(std::chrono::milliseconds timeout) override;
  bool shutdown(std::chrono::milliseconds timeout) override;
  std::string_view name() const noexcept override { return "jsonl"; }

 private:
  std::mutex mutex_;
  std::unique_ptr<std::ostream> owned_;
  std::ostream* out_;
  std::string buffer_;
  bool shut_down_ = false;
};

// One readable line per span: "<time> <trace>/<span> <name> <kind> <duration> <status> k=v ...".
class ConsoleExporter : public SpanExporter {
 public:
  // To std::cout unless another stream is given.
  ConsoleExporter();
  explicit ConsoleExporter(std::ostream& out);
  ExportResult export_spans(std::span<const SpanData* const> spans, Deadline deadline) override;
  std::string_view name() const noexcept override { return "console"; }

 private:
  std::mutex mutex_;
  std::ostream* out_;
};

}  // namespace vigil::trace
