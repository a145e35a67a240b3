// src/exporters/otlp_log_encoding.h (private): LogRecords to an OTLP ExportLogsServiceRequest in
// the protobuf and JSON encodings. Records are grouped into one ScopeLogs per distinct
// (scope_name, scope_version), in order of first appearance, under one ResourceLogs.
#pragma once

#include <span>
#include <string>

#include "vigil/exporters/otlp_log_exporter.h"

namespace vigil::exporters::detail {

// The protobuf encoding, replacing `out`. False (with `error`) when serialisation fails. Never
// throws except std::bad_alloc.
bool encode_logs_protobuf(std::span<const LogRecord> records, const trace::Resource& resource,
                          std::string& out, std::string& error);

// The OTLP/JSON encoding: lowerCamelCase names, ids as lowercase hex, 64-bit integers as decimal
// strings, enums as numbers, default values left out. Never throws except std::bad_alloc.
std::string encode_logs_json(std::span<const LogRecord> records, const trace::Resource& resource);

}  // namespace vigil::exporters::detail
