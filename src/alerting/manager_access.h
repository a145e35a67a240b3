// src/alerting/manager_access.h (internal): hooks into AlertManager for vigil's own tools, not
// part of the public API.
//
//   vigil::alerting::promql::MemoryStorage storage;   // input series appended by the caller
//   vigil::alerting::AlertManager manager(options);   // options.clock: the test's time
//   vigil::detail::ManagerAccess::use_storage(manager, &storage);
//   manager.add_rule_file(file);
//   manager.evaluate();   // PromQL rules read `storage`; recorded series and ALERTS go there
//
// Thread-safety: use_storage is serialised with evaluations; the storage must not be written by
// anyone else while the manager evaluates.
#pragma once

#include "vigil/alerting/manager.h"

namespace vigil::alerting::promql {
class MemoryStorage;
}

namespace vigil::detail {

struct ManagerAccess {
  // PromQL rules of `manager` read and write `storage` (not owned; it must outlive the manager
  // or be reset with nullptr) instead of samples of the registry, which is then not sampled.
  static void use_storage(alerting::AlertManager& manager,
                          alerting::promql::MemoryStorage* storage);
};

}  // namespace vigil::detail
