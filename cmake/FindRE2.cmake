# cmake/FindRE2.cmake: Google RE2 (Debian libre2-dev ships a pkg-config file, no CMake package).
# Defines the imported target re2::re2. Installed with vigil's package so that consumers of a
# static vigil::alerting find it too.
if(TARGET re2::re2)
  set(RE2_FOUND TRUE)
  return()
endif()
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(_VIGIL_RE2 QUIET IMPORTED_TARGET GLOBAL re2)
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(RE2 REQUIRED_VARS _VIGIL_RE2_FOUND
  VERSION_VAR _VIGIL_RE2_VERSION)
if(RE2_FOUND AND NOT TARGET re2::re2)
  add_library(re2::re2 INTERFACE IMPORTED GLOBAL)
  target_link_libraries(re2::re2 INTERFACE PkgConfig::_VIGIL_RE2)
endif()
