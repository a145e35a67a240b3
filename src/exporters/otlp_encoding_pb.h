// src/exporters/otlp_encoding_pb.h (private): the protobuf pieces of otlp_encoding.cc that other
// OTLP encoders (metrics) reuse. Includes generated protobuf headers: only for .cc files of
// vigil::exporters.
#pragma once

#include <span>

#include "opentelemetry/proto/resource/v1/resource.pb.h"
#include "vigil/trace/resource.h"

namespace vigil::exporters::detail {

// Sets `out`'s attributes from `resource` (as the trace encoder does).
void resource_to_proto(const trace::Resource& resource,
                       opentelemetry::proto::resource::v1::Resource* out);

// Appends `attributes` to `out` (as the trace encoder writes span attributes).
void attributes_to_proto(
    std::span<const trace::KeyValue> attributes,
    google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>* out);

}  // namespace vigil::exporters::detail
