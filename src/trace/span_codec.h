// A flat binary form of SpanData, for handing ended spans from the recording thread to the batch
// processor's worker through a byte ring: the recording thread copies its span into a few
// contiguous cache lines and keeps its pooled record, instead of passing the record (and its
// scattered buffers) to the worker's core and back.
//
// The encoding is private to one process (native byte order, raw scope/resource pointers); it
// is never written to a file or the network. decode() trusts its input: only encode() output.
#pragma once

#include <cstddef>

#include "vigil/trace/span_data.h"

namespace vigil::trace::detail {

// Bytes encode() writes for `span` (a multiple of 8).
std::size_t encoded_size(const SpanData& span) noexcept;
// Writes `span` to `out` (encoded_size(span) bytes; `out` 8-byte aligned).
void encode(const SpanData& span, char* out) noexcept;
// Reads a span written by encode() into `out`, reusing its buffers (cleared first). Throws only
// std::bad_alloc.
void decode(const char* in, SpanData& out);

}  // namespace vigil::trace::detail
