// vigil/core/error.h: the one exception type vigil throws.
//
// vigil throws only for mistakes in configuration or registration (a bad metric name, a
// conflicting re-registration, a port already in use). Recording on hot paths never throws, and
// parsers of outside input return results instead of throwing.
//
//   try {
//     registry.counter("bad name", "help");
//   } catch (const vigil::Error& e) {
//     std::cerr << e.what();  // names the metric and the rule it broke
//   }
#pragma once

#include <stdexcept>
#include <string>

namespace vigil {

// Thrown for configuration and registration errors. The message names the thing that was wrong
// and the rule it broke. Thread-safe to throw and catch like any std::exception.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what);
  explicit Error(const char* what);
};

}  // namespace vigil
