// src/admin/gzip.h (private to src/admin): the admin server's gzip and Accept-Encoding
// negotiation, which are vigil's one copy in core/detail/gzip.h (target vigil_core_gzip):
// vigil::detail::accepts_gzip and vigil::detail::gzip_compress. Kept so that "gzip.h" goes on
// naming them for the server; new code includes "core/detail/gzip.h".
#pragma once

#include "core/detail/gzip.h"
