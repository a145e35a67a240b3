#include "vigil/core/error.h"

namespace vigil {

Error::Error(const std::string& what) : std::runtime_error(what) {}
Error::Error(const char* what) : std::runtime_error(what) {}

}  // namespace vigil
