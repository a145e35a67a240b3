# cmake/VigilInstall.cmake: install rules, the CMake package (find_package(vigil)) and the
# pkg-config files. Included from the top-level CMakeLists.txt when VIGIL_INSTALL is ON, after
# src/ has been added.
#
# What is installed:
#   include/vigil/...                               public headers (admin/ only with vigil_admin)
#   <libdir>/libvigil_<component>.a                 every library target defined under src/
#   <libdir>/cmake/vigil/vigilConfig.cmake          find_package(vigil [COMPONENTS admin ...])
#   <libdir>/cmake/vigil/vigilConfigVersion.cmake   SameMajorVersion
#   <libdir>/cmake/vigil/vigilTargets*.cmake        imported targets vigil::core, vigil::metrics, ...
#   <libdir>/pkgconfig/vigil-<component>.pc         one per library: vigil-core, vigil-metrics, ...
#
# Library targets are discovered from the src/ directory tree rather than listed, so a new
# component (trace, health, exporters ...) is installed, exported and gets a .pc file without
# editing this file. Its third-party link dependencies are read from its link libraries and
# mapped to find_dependency() calls in vigilConfig.cmake and to Requires/Libs in its .pc file
# (see _vigil_known_dependency below; an unknown imported target gives a configure warning).
#
# Static libraries (the default) carry their private link dependencies to the consumer, so for
# them the .pc file lists those dependencies in Requires/Libs, and a plain
# `pkg-config --libs vigil-admin` links. With BUILD_SHARED_LIBS=ON they move to
# Requires.private/Libs.private, where they belong for a shared library.

include(CMakePackageConfigHelpers)

set(VIGIL_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/vigil"
  CACHE STRING "Where vigilConfig.cmake is installed, relative to the prefix")
set(VIGIL_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
  CACHE STRING "Where the vigil-*.pc files are installed, relative to the prefix")
mark_as_advanced(VIGIL_INSTALL_CMAKEDIR VIGIL_INSTALL_PKGCONFIGDIR)

# ---- Discover the library targets under src/ ---------------------------------------------------
function(_vigil_collect_libraries dir out_var)
  set(result "")
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(type MATCHES "^(STATIC|SHARED|MODULE|OBJECT|INTERFACE)_LIBRARY$")
      get_target_property(skip ${t} VIGIL_NO_INSTALL)
      if(NOT skip)
        list(APPEND result ${t})
      endif()
    endif()
  endforeach()
  get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    _vigil_collect_libraries("${sub}" sub_result)
    list(APPEND result ${sub_result})
  endforeach()
  set(${out_var} "${result}" PARENT_SCOPE)
endfunction()

_vigil_collect_libraries("${PROJECT_SOURCE_DIR}/src" VIGIL_INSTALL_LIBRARIES)
if(NOT VIGIL_INSTALL_LIBRARIES)
  message(WARNING "vigil: no library targets found under src/; nothing to install")
endif()

# The component name of a target: vigil_metrics -> metrics. Its EXPORT_NAME defaults to that, so
# the imported target is vigil::metrics.
foreach(t IN LISTS VIGIL_INSTALL_LIBRARIES)
  string(REGEX REPLACE "^vigil_" "" component "${t}")
  get_target_property(export_name ${t} EXPORT_NAME)
  if(NOT export_name)
    set_target_properties(${t} PROPERTIES EXPORT_NAME "${component}")
  endif()
endforeach()

# ---- Headers --------------------------------------------------------------------------------
set(_vigil_header_excludes "")
foreach(component IN ITEMS admin exporters alerting guardrail health trace)
  if(NOT TARGET vigil_${component})
    list(APPEND _vigil_header_excludes REGEX "/include/vigil/${component}(/.*)?$" EXCLUDE)
  endif()
endforeach()
if(NOT TARGET vigil_trace_spdlog)
  # The optional spdlog integration's header includes spdlog: only with its library.
  list(APPEND _vigil_header_excludes REGEX "/include/vigil/trace/spdlog\\.h$" EXCLUDE)
endif()
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/vigil"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  COMPONENT vigil_development
  FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp" PATTERN "*.inc"
  ${_vigil_header_excludes})

# ---- Libraries and exported targets -----------------------------------------------------------
if(VIGIL_INSTALL_LIBRARIES)
  install(TARGETS ${VIGIL_INSTALL_LIBRARIES}
    EXPORT vigilTargets
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT vigil_development
    LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT vigil_runtime
      NAMELINK_COMPONENT vigil_development
    RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT vigil_runtime
    INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
  install(EXPORT vigilTargets
    NAMESPACE vigil::
    DESTINATION "${VIGIL_INSTALL_CMAKEDIR}"
    COMPONENT vigil_development)
endif()

# ---- Third-party dependencies ---------------------------------------------------------------
# _vigil_known_dependency(item find_var pcreq_var pclibs_var): for a link item (a target name or a
# plain library), the package to find_dependency() in vigilConfig.cmake, the pkg-config modules
# to require and the raw linker flags for the .pc file. All three may come back empty.
function(_vigil_known_dependency item find_var pcreq_var pclibs_var)
  set(find "")
  set(pcreq "")
  set(pclibs "")
  if(item STREQUAL "Threads::Threads")
    set(find "Threads")
    set(pclibs "-pthread")
  elseif(item STREQUAL "civetweb::civetweb")
    set(find "civetweb")  # Debian ships no civetweb.pc
    set(pclibs "-lcivetweb")
  elseif(item STREQUAL "civetweb::civetweb-cpp")
    set(find "civetweb")
    set(pclibs "-lcivetweb-cpp;-lcivetweb")
  elseif(item STREQUAL "ZLIB::ZLIB")
    set(find "ZLIB")
    set(pcreq "zlib")
  elseif(item STREQUAL "CURL::libcurl")
    set(find "CURL")
    set(pcreq "libcurl")
  elseif(item STREQUAL "nlohmann_json::nlohmann_json")
    set(find "nlohmann_json")
    set(pcreq "nlohmann_json")
  elseif(item MATCHES "^yaml-cpp(::yaml-cpp)?$")
    set(find "yaml-cpp")
    set(pcreq "yaml-cpp")
  elseif(item STREQUAL "OpenSSL::SSL")
    set(find "OpenSSL")
    set(pcreq "libssl")
  elseif(item STREQUAL "OpenSSL::Crypto")
    set(find "OpenSSL")
    set(pcreq "libcrypto")
  elseif(item STREQUAL "protobuf::libprotobuf-lite")
    set(find "Protobuf")
    set(pcreq "protobuf-lite")
  elseif(item STREQUAL "protobuf::libprotobuf")
    set(find "Protobuf")
    set(pcreq "protobuf")
  elseif(item MATCHES "^spdlog::spdlog(_header_only)?$")
    set(find "spdlog")  # spdlog's own package config finds fmt
    set(pcreq "spdlog")  # Debian's spdlog.pc requires fmt
  elseif(item MATCHES "^Snappy::snappy")
    set(find "Snappy")
    set(pclibs "-lsnappy")
  elseif(TARGET "${item}")
    message(WARNING "vigil install: don't know how an installed vigil library's dependency "
      "'${item}' is found by consumers; add it to _vigil_known_dependency in "
      "cmake/VigilInstall.cmake")
  elseif(item MATCHES "^-")
    set(pclibs "${item}")  # -pthread, -ldl, ...
  elseif(item MATCHES "^/.*/lib([^/]+)\\.(a|so)[.0-9]*$")
    set(pclibs "-l${CMAKE_MATCH_1}")
  elseif(item MATCHES "^[A-Za-z0-9_.+-]+$")
    set(pclibs "-l${item}")
  endif()
  set(${find_var} "${find}" PARENT_SCOPE)
  set(${pcreq_var} "${pcreq}" PARENT_SCOPE)
  set(${pclibs_var} "${pclibs}" PARENT_SCOPE)
endfunction()

# _vigil_strip_genex(item out_var): $<LINK_ONLY:x> -> x, $<INSTALL_INTERFACE:x> -> x,
# $<BUILD_INTERFACE:x> and any other generator expression -> "" (not seen by consumers).
function(_vigil_strip_genex item out_var)
  if(item MATCHES "^\\$<LINK_ONLY:(.*)>$")
    set(item "${CMAKE_MATCH_1}")
  endif()
  if(item MATCHES "^\\$<INSTALL_INTERFACE:(.*)>$")
    set(item "${CMAKE_MATCH_1}")
  endif()
  if(item MATCHES "\\$<")
    set(item "")
  endif()
  set(${out_var} "${item}" PARENT_SCOPE)
endfunction()

set(_vigil_header_only_pc_modules nlohmann_json)
set(VIGIL_CONFIG_PACKAGES "")
foreach(t IN LISTS VIGIL_INSTALL_LIBRARIES)
  get_target_property(type ${t} TYPE)
  get_target_property(all_links ${t} LINK_LIBRARIES)
  get_target_property(iface_links ${t} INTERFACE_LINK_LIBRARIES)
  if(NOT all_links)
    set(all_links "")
  endif()
  if(NOT iface_links)
    set(iface_links "")
  endif()
  # Public: in INTERFACE_LINK_LIBRARIES and not wrapped in $<LINK_ONLY:>.
  set(public_items "")
  foreach(item IN LISTS iface_links)
    if(NOT item MATCHES "^\\$<LINK_ONLY:")
      _vigil_strip_genex("${item}" item)
      if(item)
        list(APPEND public_items "${item}")
      endif()
    endif()
  endforeach()
  set(items ${public_items})
  foreach(item IN LISTS all_links iface_links)
    _vigil_strip_genex("${item}" item)
    if(item)
      list(APPEND items "${item}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES items)

  set(req "")
  set(req_private "")
  set(libs "")
  set(libs_private "")
  foreach(item IN LISTS items)
    set(resolved "${item}")
    if(TARGET "${item}")
      get_target_property(aliased "${item}" ALIASED_TARGET)
      if(aliased)
        set(resolved "${aliased}")
      endif()
    endif()
    set(is_public FALSE)
    if(item IN_LIST public_items)
      set(is_public TRUE)
    endif()
    if(resolved IN_LIST VIGIL_INSTALL_LIBRARIES)
      get_target_property(dep_type ${resolved} TYPE)
      if(dep_type STREQUAL "OBJECT_LIBRARY")
        continue()  # its objects are inside this library already
      endif()
      string(REGEX REPLACE "^vigil_" "" dep_component "${resolved}")
      string(REPLACE "_" "-" dep_component "${dep_component}")
      set(find "")
      set(pcreq "vigil-${dep_component}")
      set(pclibs "")
    else()
      _vigil_known_dependency("${resolved}" find pcreq pclibs)
    endif()
    if(find)
      list(APPEND VIGIL_CONFIG_PACKAGES "${find}")
    endif()
    # A private header-only dependency adds nothing to a consumer's compile or link line.
    if(NOT is_public AND pcreq IN_LIST _vigil_header_only_pc_modules)
      set(pcreq "")
    endif()
    if(is_public OR NOT type STREQUAL "SHARED_LIBRARY")
      list(APPEND req ${pcreq})
      list(APPEND libs ${pclibs})
    else()
      list(APPEND req_private ${pcreq})
      list(APPEND libs_private ${pclibs})
    endif()
  endforeach()

  if(type STREQUAL "OBJECT_LIBRARY")
    continue()  # no .pc file: consumers never link it directly
  endif()

  # ---- vigil-<component>.pc ----
  string(REGEX REPLACE "^vigil_" "" component "${t}")
  string(REPLACE "_" "-" VIGIL_PC_NAME "vigil-${component}")
  set(VIGIL_PC_DESCRIPTION "vigil ${component}: part of vigil, observability for C++ services")
  set(VIGIL_PC_LINK "")
  if(NOT type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(output_name ${t} OUTPUT_NAME)
    if(NOT output_name)
      set(output_name "${t}")
    endif()
    set(VIGIL_PC_LINK "-l${output_name}")
  endif()
  list(REMOVE_DUPLICATES req)
  list(REMOVE_DUPLICATES libs)
  list(REMOVE_DUPLICATES req_private)
  list(REMOVE_DUPLICATES libs_private)
  list(REMOVE_ITEM req_private ${req})
  string(REPLACE ";" ", " VIGIL_PC_REQUIRES "${req}")
  string(REPLACE ";" ", " VIGIL_PC_REQUIRES_PRIVATE "${req_private}")
  string(REPLACE ";" " " VIGIL_PC_LIBS "${libs}")
  string(REPLACE ";" " " VIGIL_PC_LIBS_PRIVATE "${libs_private}")
  file(RELATIVE_PATH VIGIL_PC_PREFIX_FROM_PCFILEDIR
    "/prefix/${VIGIL_INSTALL_PKGCONFIGDIR}" "/prefix")
  string(REGEX REPLACE "/$" "" VIGIL_PC_PREFIX_FROM_PCFILEDIR "${VIGIL_PC_PREFIX_FROM_PCFILEDIR}")
  configure_file("${PROJECT_SOURCE_DIR}/cmake/vigil.pc.in"
    "${PROJECT_BINARY_DIR}/pkgconfig/${VIGIL_PC_NAME}.pc" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/pkgconfig/${VIGIL_PC_NAME}.pc"
    DESTINATION "${VIGIL_INSTALL_PKGCONFIGDIR}"
    COMPONENT vigil_development)
endforeach()

# ---- vigilConfig.cmake / vigilConfigVersion.cmake -------------------------------------------
list(REMOVE_DUPLICATES VIGIL_CONFIG_PACKAGES)
list(REMOVE_ITEM VIGIL_CONFIG_PACKAGES Threads)  # always found by the template
set(VIGIL_FIND_DEPENDENCIES "")
foreach(pkg IN LISTS VIGIL_CONFIG_PACKAGES)
  string(APPEND VIGIL_FIND_DEPENDENCIES "find_dependency(${pkg})\n")
endforeach()
set(VIGIL_COMPONENTS "")
foreach(t IN LISTS VIGIL_INSTALL_LIBRARIES)
  get_target_property(export_name ${t} EXPORT_NAME)
  list(APPEND VIGIL_COMPONENTS "${export_name}")
endforeach()

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/vigilConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/vigilConfig.cmake"
  INSTALL_DESTINATION "${VIGIL_INSTALL_CMAKEDIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/vigilConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/vigilConfig.cmake"
  "${PROJECT_BINARY_DIR}/vigilConfigVersion.cmake"
  DESTINATION "${VIGIL_INSTALL_CMAKEDIR}"
  COMPONENT vigil_development)

message(STATUS "vigil install: libraries [${VIGIL_INSTALL_LIBRARIES}], "
  "package dependencies [Threads;${VIGIL_CONFIG_PACKAGES}]")
