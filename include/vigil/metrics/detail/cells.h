// vigil/metrics/detail/cells.h: per-thread value cells, the storage behind counters,
// histograms and summaries. Internal: use the instruments, not this header.
//
// Every series owns a small run of cell indices. Each thread that records gets its own block of
// cells, so a recording is a plain load and store to memory no other thread writes: no lock, no
// atomic read-modify-write, no cache line shared between writers. Readers (collection) add up
// the cells of every block. Blocks are never freed: a block whose thread exited is adopted by
// the next new thread, which keeps adding to its values, so nothing recorded is ever lost.
//
// Cost: recording ~1 ns; the first recording of a thread into a chunk of 1024 cells allocates.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>
#include <span>

namespace vigil::metrics::detail {

inline constexpr uint32_t kCellChunkBits = 10;
inline constexpr uint32_t kCellChunkSize = 1u << kCellChunkBits;
inline constexpr uint32_t kCellChunkMask = kCellChunkSize - 1;
inline constexpr uint32_t kMaxCellChunks = 16384;  // 16M cells in all

using Cell = std::atomic<uint64_t>;

struct ThreadCells {
  std::atomic<Cell*> chunks[kMaxCellChunks];
  std::atomic<bool> owned;      // a live thread writes this block
  ThreadCells* next = nullptr;  // immutable once published
};

// This thread's block, or null before its first recording.
extern constinit thread_local ThreadCells* tls_thread_cells;

// Returns this thread's chunk `chunk`, allocating the block or chunk when needed.
Cell* thread_chunk_slow(uint32_t chunk) noexcept;

// This thread's cell `index`. Only this thread writes it.
inline Cell* thread_cell(uint32_t index) noexcept {
  const uint32_t chunk = index >> kCellChunkBits;
  ThreadCells* block = tls_thread_cells;
  if (block != nullptr) [[likely]] {
    Cell* c = block->chunks[chunk].load(std::memory_order_relaxed);
    if (c != nullptr) [[likely]]
      return c + (index & kCellChunkMask);
  }
  return thread_chunk_slow(chunk) + (index & kCellChunkMask);
}

// Single-writer updates: a load and a store, no read-modify-write.
inline void cell_add(Cell& c, uint64_t v) noexcept {
  c.store(c.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}
inline void cell_add_double(Cell& c, double v) noexcept {
  const double now = std::bit_cast<double>(c.load(std::memory_order_relaxed));
  c.store(std::bit_cast<uint64_t>(now + v), std::memory_order_relaxed);
}

// Seqlock for a run of cells written together (histogram buckets and sum): the writer makes
// the sequence odd, writes, and makes it even again; readers retry while it is odd or moved.
inline void seq_begin(Cell& seq) noexcept {
  seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
}
inline void seq_end(Cell& seq) noexcept {
  seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

// Reserves `count` consecutive cells (at most kCellChunkSize) inside one chunk, zeroed in
// every block. Throws vigil::Error when all 16M cells are in use.
uint32_t allocate_cells(uint32_t count);
// Zeroes the cells in every block and makes them reusable. No handle may use them any more.
void free_cells(uint32_t index, uint32_t count) noexcept;

// Sum of cell `index` over all blocks, as integers or as doubles.
uint64_t sum_cells_u64(uint32_t index) noexcept;
double sum_cells_f64(uint32_t index) noexcept;
// Hints the cache to fetch cell `index` of every block (collection walks series in hash order).
void prefetch_cells(uint32_t index) noexcept;
// A counter's value: the integer cell `index` plus the double cell `index + 1`, in one pass.
double sum_counter_cells(uint32_t index) noexcept;

// Consistent read of a seqlocked run: cell `index` is the sequence, `index + 1` a double sum,
// the next `counts.size()` cells integer counts. Adds each block's values to `sum`/`counts`.
void read_seq_run(uint32_t index, double& sum, std::span<uint64_t> counts) noexcept;

// Number of cells in use and blocks (threads) that exist; for tests and self-metrics.
uint64_t cells_in_use() noexcept;
uint64_t cell_blocks() noexcept;

}  // namespace vigil::metrics::detail
