#include "vigil/metrics/detail/cells.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "vigil/core/error.h"

namespace vigil::metrics::detail {

constinit thread_local ThreadCells* tls_thread_cells = nullptr;

namespace {

std::atomic<ThreadCells*> g_blocks{nullptr};
std::atomic<uint64_t> g_block_count{0};

constinit thread_local bool tls_exiting = false;

// Releases this thread's block at thread exit so that a later thread adopts it.
struct BlockReleaser {
  ThreadCells* block = nullptr;
  ~BlockReleaser() {
    tls_exiting = true;
    if (block != nullptr) {
      tls_thread_cells = nullptr;
      block->owned.store(false, std::memory_order_release);
    }
  }
};
thread_local BlockReleaser tls_releaser;

ThreadCells* new_block() noexcept {
  // calloc: the chunk table is mostly zero and stays untouched (not resident) until used.
  void* mem = std::calloc(1, sizeof(ThreadCells));
  if (mem == nullptr) std::abort();  // out of memory on a hot path: nothing sane to do
  auto* block = new (mem) ThreadCells;
  block->owned.store(true, std::memory_order_relaxed);
  ThreadCells* head = g_blocks.load(std::memory_order_relaxed);
  do {
    block->next = head;
  } while (!g_blocks.compare_exchange_weak(head, block, std::memory_order_release,
                                           std::memory_order_relaxed));
  g_block_count.fetch_add(1, std::memory_order_relaxed);
  return block;
}

ThreadCells* acquire_block() noexcept {
  for (ThreadCells* b = g_blocks.load(std::memory_order_acquire); b != nullptr; b = b->next) {
    bool expected = false;
    if (!b->owned.load(std::memory_order_relaxed) &&
        b->owned.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      return b;
    }
  }
  return new_block();
}

struct Allocator {
  std::mutex mu;
  uint32_t next = kCellChunkSize;  // chunk 0 is the discard area of unbound handles
  uint64_t in_use = 0;
  std::map<uint32_t, std::vector<uint32_t>> free_runs;  // by length
};
Allocator& allocator() {
  static Allocator* a = new Allocator;  // never destroyed: handles may outlive static teardown
  return *a;
}

}  // namespace

Cell* thread_chunk_slow(uint32_t chunk) noexcept {
  ThreadCells* block = tls_thread_cells;
  if (block == nullptr) {
    block = acquire_block();
    tls_thread_cells = block;
    if (!tls_exiting) {
      tls_releaser.block = block;  // a block taken during thread exit stays owned: never shared
    }
  }
  Cell* c = block->chunks[chunk].load(std::memory_order_relaxed);
  if (c == nullptr) {
    void* mem = std::calloc(kCellChunkSize, sizeof(Cell));
    if (mem == nullptr) std::abort();
    c = static_cast<Cell*>(mem);
    block->chunks[chunk].store(c, std::memory_order_release);
  }
  return c;
}

uint32_t allocate_cells(uint32_t count) {
  if (count == 0 || count > kCellChunkSize) {
    throw Error("metric storage: a series needs 1 to " + std::to_string(kCellChunkSize) +
                " cells, asked for " + std::to_string(count));
  }
  Allocator& a = allocator();
  std::lock_guard lock(a.mu);
  auto it = a.free_runs.find(count);
  if (it != a.free_runs.end() && !it->second.empty()) {
    uint32_t index = it->second.back();
    it->second.pop_back();
    a.in_use += count;
    return index;
  }
  uint32_t index = a.next;
  if ((index & kCellChunkMask) + count > kCellChunkSize) {
    index = (index | kCellChunkMask) + 1;  // a run never straddles two chunks
  }
  if (static_cast<uint64_t>(index) + count > uint64_t{kMaxCellChunks} * kCellChunkSize) {
    throw Error("metric storage: all " + std::to_string(kMaxCellChunks * kCellChunkSize) +
                " value cells are in use; remove series or lower cardinality");
  }
  a.next = index + count;
  a.in_use += count;
  return index;
}

void free_cells(uint32_t index, uint32_t count) noexcept {
  const uint32_t chunk = index >> kCellChunkBits;
  const uint32_t offset = index & kCellChunkMask;
  for (ThreadCells* b = g_blocks.load(std::memory_order_acquire); b != nullptr; b = b->next) {
    Cell* c = b->chunks[chunk].load(std::memory_order_acquire);
    if (c == nullptr) continue;
    for (uint32_t i = 0; i < count; ++i) c[offset + i].store(0, std::memory_order_relaxed);
  }
  Allocator& a = allocator();
  std::lock_guard lock(a.mu);
  try {
    a.free_runs[count].push_back(index);
  } catch (...) {
    // Out of memory: the run is leaked, never reused; values stay correct.
  }
  a.in_use -= count;
}

uint64_t sum_cells_u64(uint32_t index) noexcept {
  const uint32_t chunk = index >> kCellChunkBits;
  const uint32_t offset = index & kCellChunkMask;
  uint64_t total = 0;
  for (ThreadCells* b = g_blocks.load(std::memory_order_acquire); b != nullptr; b = b->next) {
    Cell* c = b->chunks[chunk].load(std::memory_order_acquire);
    if (c != nullptr) total += c[offset].load(std::memory_order_relaxed);
  }
  return total;
}

double sum_cells_f64(uint32_t index) noexcept {
  const uint32_t chunk = index >> kCellChunkBits;
  const uint32_t offset = index & kCellChunkMask;
  double total = 0;
  for (ThreadCells* b = g_blocks.load(std::memory_order_acquire); b != nullptr; b = b->next) {
    Cell* c = b->chunks[chunk].load(std::memory_order_acquire);
    if (c != nullptr) total += std::bit_cast<double>(c[offset].load(std::memory_order_relaxed));
  }
  return total;
}

void prefetch_cells(uint32_t index) noexcept {
  const uint32_t chunk = index >> kCellChunkBits;
  const uint32_t offset = index & kCellChunkMask;
  for (ThreadCells* b = g_blocks.load(std::memory_order_acquire); b != nullptr; b = b->next) {
    Cell* c = b->chunks[chunk].load(std::memory_order_relaxed);
    if (c != nullptr) __builtin_prefetch(c + offset);
  }
}

double sum_counter_cells(uint32_t index) noexcept {
  const uint32_t chunk = index >> kCellChunkBits;
  const uint32_t offset = index & kCellChunkMask;
  uint64_t whole = 0;
  double fraction = 0;
  for (ThreadCells* b = g_blocks.load(std::memory_order_acquire); b != nullptr; b = b->next) {
    Cell* c = b->chunks[chunk].load(std::memory_order_acquire);
    if (c == nullptr) continue;
    whole += c[offset].load(std::memory_order_relaxed);
    fraction += std::bit_cast<double>(c[offset + 1].load(std::memory_order_relaxed));
  }
  return static_cast<double>(whole) + fraction;
}

void read_seq_run(uint32_t index, double& sum, std::span<uint64_t> counts) noexcept {
  const uint32_t chunk = index >> kCellChunkBits;
  const uint32_t offset = index & kCellChunkMask;
  constexpr size_t kStack = 64;
  uint64_t stack_buf[kStack];
  std::vector<uint64_t> heap_buf;
  uint64_t* buf = stack_buf;
  if (counts.size() > kStack) {
    try {
      heap_buf.resize(counts.size());
    } catch (...) {
      return;
    }
    buf = heap_buf.data();
  }
  for (ThreadCells* b = g_blocks.load(std::memory_order_acquire); b != nullptr; b = b->next) {
    Cell* c = b->chunks[chunk].load(std::memory_order_acquire);
    if (c == nullptr) continue;
    Cell* run = c + offset;
    double block_sum = 0;
    for (;;) {
      const uint64_t s1 = run[0].load(std::memory_order_acquire);
      if (s1 & 1) {
        std::this_thread::yield();  // the owner is mid-write; it finishes within nanoseconds
        continue;
      }
      block_sum = std::bit_cast<double>(run[1].load(std::memory_order_relaxed));
      for (size_t i = 0; i < counts.size(); ++i)
        buf[i] = run[2 + i].load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (run[0].load(std::memory_order_relaxed) == s1) break;
    }
    sum += block_sum;
    for (size_t i = 0; i < counts.size(); ++i) counts[i] += buf[i];
  }
}

uint64_t cells_in_use() noexcept {
  Allocator& a = allocator();
  std::lock_guard lock(a.mu);
  return a.in_use;
}

uint64_t cell_blocks() noexcept { return g_block_count.load(std::memory_order_relaxed); }

}  // namespace vigil::metrics::detail
