// Private to vigil::trace: the per-thread span ring of the batch span processor
// (batch_processor.cc). Each thread that ends spans on a BatchSpanProcessor gets a byte ring of
// its own, into which it copies its ended spans (encoded by span_codec.h) without a lock or an
// allocation; the processor's worker decodes them from it into export batches.
//
//   SpanRing ring(16 * 1024, version);
//   if (!ring.try_write(record)) use_the_shared_queue(record);  // full, or a span too large
//   // worker: n = ring.read(batch, first, max, lost);  at shutdown: ring.discard();
//
// Thread safety: one producer (the ring's thread: try_write) and one consumer (the worker:
// read, discard) at a time; empty() and the counters and lifecycle flags are atomics that
// either side (and stats()) reads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "internal.h"
#include "span_codec.h"
#include "vigil/trace/span_data.h"

namespace vigil::trace::detail {

// A byte ring that one producing thread writes ended spans into and the worker reads. Entries
// are 8-byte aligned: a u32 size (header included) and a u32 tag, then the encoded span; an
// entry never wraps (a padding entry fills the end of the ring first).
struct SpanRing {
  static constexpr uint32_t kSpan = 1;
  static constexpr uint32_t kPadding = 2;
  static constexpr std::size_t kHeader = 8;

  SpanRing(std::size_t bytes, std::shared_ptr<std::atomic<uint64_t>> rings_version)
      : data(new uint64_t[bytes / sizeof(uint64_t)]),
        capacity(bytes),
        mask(bytes - 1),
        owner_version(std::move(rings_version)) {}

  char* at(uint64_t pos) noexcept { return reinterpret_cast<char*>(data.get()) + (pos & mask); }
  static void write_header(char* p, uint32_t size, uint32_t tag) noexcept {
    std::memcpy(p, &size, 4);
    std::memcpy(p + 4, &tag, 4);
  }

  // Producer: copies the span in; false when it does not fit.
  bool try_write(const SpanRecord& rec) noexcept {
    const std::size_t size = kHeader + encoded_size(rec.data, rec.log);
    if (size > capacity / 4) return false;  // large spans take the shared queue
    uint64_t h = head.load(std::memory_order_relaxed);
    const std::size_t off = h & mask;
    const std::size_t pad = off + size > capacity ? capacity - off : 0;
    if (h + pad + size - cached_tail > capacity) {
      cached_tail = tail.load(std::memory_order_acquire);
      if (h + pad + size - cached_tail > capacity) return false;
    }
    if (pad != 0) {
      write_header(at(h), static_cast<uint32_t>(pad), kPadding);
      h += pad;
    }
    char* p = at(h);
    write_header(p, static_cast<uint32_t>(size), kSpan);
    encode(rec.data, rec.log, p + kHeader);
    // Counted before it is visible, so that stats() never shows it exported but not queued.
    published.store(published.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    head.store(h + size, std::memory_order_release);
    unsignalled += size;
    ++unsignalled_spans;
    return true;
  }

  // Consumer: decodes up to `max` spans into out[first..); returns how many. A span that
  // cannot be decoded (out of memory) is skipped and counted in `lost`.
  std::size_t read(std::vector<SpanData>& out, std::size_t first, std::size_t max,
                   uint64_t& lost) noexcept {
    uint64_t t = tail.load(std::memory_order_relaxed);
    const uint64_t h = head.load(std::memory_order_acquire);
    std::size_t n = 0;
    uint64_t taken = 0;
    while (t < h && n < max) {
      const char* p = at(t);
      uint32_t size, tag;
      std::memcpy(&size, p, 4);
      std::memcpy(&tag, p + 4, 4);
      t += size;
      if (tag != kSpan) continue;
      ++taken;
      try {
        if (first + n == out.size()) out.emplace_back();
        decode(p + kHeader, out[first + n]);
        ++n;
      } catch (...) {
        ++lost;
      }
    }
    tail.store(t, std::memory_order_release);
    consumed.store(consumed.load(std::memory_order_relaxed) + taken, std::memory_order_relaxed);
    return n;
  }

  // Consumer: discards everything published so far; returns the number of spans.
  uint64_t discard() noexcept {
    uint64_t t = tail.load(std::memory_order_relaxed);
    const uint64_t h = head.load(std::memory_order_acquire);
    uint64_t n = 0;
    while (t < h) {
      const char* p = at(t);
      uint32_t size, tag;
      std::memcpy(&size, p, 4);
      std::memcpy(&tag, p + 4, 4);
      t += size;
      if (tag == kSpan) ++n;
    }
    tail.store(t, std::memory_order_release);
    consumed.store(consumed.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    return n;
  }
  bool empty() const noexcept {
    return tail.load(std::memory_order_relaxed) == head.load(std::memory_order_acquire);
  }

  std::unique_ptr<uint64_t[]> data;  // 8-byte aligned
  const std::size_t capacity;
  const std::size_t mask;
  // Written by the producer.
  alignas(64) std::atomic<uint64_t> head{0};  // bytes published
  std::atomic<uint64_t> published{0};         // spans published
  uint64_t cached_tail = 0;
  uint64_t unsignalled = 0;        // bytes since the producer last woke the worker
  uint64_t unsignalled_spans = 0;  // spans since then
  // Written by the consumer.
  alignas(64) std::atomic<uint64_t> tail{0};
  std::atomic<uint64_t> consumed{0};  // spans read or discarded
  // Lifecycle.
  alignas(64) std::atomic<bool> producer_gone{false};  // its thread exited
  std::atomic<bool> owner_gone{false};                 // its processor was destroyed
  // The processor's ring-list version: bumped when the thread exits, so that the worker
  // notices and retires the ring once drained.
  const std::shared_ptr<std::atomic<uint64_t>> owner_version;
};

}  // namespace vigil::trace::detail
