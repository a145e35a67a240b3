# cmake/VigilLibrary.cmake: vigil_add_library() and the table of third-party dependencies.
#
# Every vigil library is one vigil_add_library() call in its src/<component>/CMakeLists.txt:
#
#   vigil_add_library(health                     # target vigil_health, alias/export vigil::health
#     SOURCES monitor.cc report.cc ...
#     PUBLIC  vigil::core vigil::metrics         # vigil components or table entries
#     PRIVATE CURL::libcurl nlohmann_json::nlohmann_json
#     HEADERS health)                            # installed: include/vigil/health/*.h
#
# A third-party link target must have a line in the table below; vigil_add_library() finds the
# package with the table's arguments when its target does not exist yet, keeps private
# header-only dependencies out of the installed link interface, and records per component what
# cmake/VigilInstall.cmake needs: the vigil components it links, the packages its consumers must
# find, the pkg-config modules and flags. A component is installed with its own export set, so
# find_package(vigil COMPONENTS metrics) looks up the metrics dependencies only.

# vigil_dependency(<link target> FIND <find_package arguments> [PC <module>...] [LIBS <flag>...]
#                  [HEADER_ONLY])
function(vigil_dependency target)
  cmake_parse_arguments(ARG "HEADER_ONLY" "" "FIND;PC;LIBS" ${ARGN})
  string(REPLACE ";" " " find "${ARG_FIND}")
  set_property(GLOBAL PROPERTY "VIGIL_DEP_FIND ${target}" "${find}")
  set_property(GLOBAL PROPERTY "VIGIL_DEP_PC ${target}" "${ARG_PC}")
  set_property(GLOBAL PROPERTY "VIGIL_DEP_LIBS ${target}" "${ARG_LIBS}")
  set_property(GLOBAL PROPERTY "VIGIL_DEP_HEADER_ONLY ${target}" "${ARG_HEADER_ONLY}")
endfunction()

# ---- The dependency table: one line per third-party link target -------------------------------
#                link target                   find_package arguments    pkg-config (Requires / Libs)
vigil_dependency(Threads::Threads              FIND Threads              LIBS -pthread)
vigil_dependency(ZLIB::ZLIB                    FIND ZLIB                 PC zlib)
vigil_dependency(CURL::libcurl                 FIND CURL                 PC libcurl)
vigil_dependency(protobuf::libprotobuf-lite    FIND Protobuf             PC protobuf-lite)
vigil_dependency(OpenSSL::SSL                  FIND OpenSSL              PC libssl)
vigil_dependency(OpenSSL::Crypto               FIND OpenSSL              PC libcrypto)
vigil_dependency(civetweb::civetweb            FIND civetweb CONFIG      LIBS -lcivetweb)  # no .pc in Debian
vigil_dependency(spdlog::spdlog                FIND spdlog CONFIG        PC spdlog)
vigil_dependency(nlohmann_json::nlohmann_json  FIND nlohmann_json 3      PC nlohmann_json HEADER_ONLY)
vigil_dependency(Boost::headers                FIND Boost 1.74           HEADER_ONLY)
vigil_dependency(re2::re2                      FIND RE2                  PC re2)
vigil_dependency(yaml-cpp                      FIND yaml-cpp CONFIG      PC yaml-cpp)
vigil_dependency(SQLite::SQLite3               FIND SQLite3              PC sqlite3)

# _vigil_dependency_info(target find pc libs header_only): the table's line for a link target.
function(_vigil_dependency_info target find_var pc_var libs_var header_only_var)
  get_property(known GLOBAL PROPERTY "VIGIL_DEP_FIND ${target}" SET)
  if(NOT known)
    message(FATAL_ERROR "vigil: '${target}' is not in the dependency table; add a "
      "vigil_dependency() line for it in cmake/VigilLibrary.cmake")
  endif()
  foreach(field FIND PC LIBS HEADER_ONLY)
    get_property(value GLOBAL PROPERTY "VIGIL_DEP_${field} ${target}")
    string(TOLOWER "${field}" field)
    set(${${field}_var} "${value}" PARENT_SCOPE)
  endforeach()
endfunction()

# vigil_add_library(<component> SOURCES <file>... [PUBLIC <dep>...] [PRIVATE <dep>...]
#                   [HEADERS <dir or file under include/vigil>...] [HEADERS_EXCLUDE <file>...]
#                   [EXPORT_NAME <name>] [INTERNAL])
# INTERNAL: a helper library of other components (no public headers); still installed and
# exported, since static vigil libraries need it at the consumer's link.
function(vigil_add_library component)
  cmake_parse_arguments(ARG "INTERNAL" "EXPORT_NAME"
    "SOURCES;PUBLIC;PRIVATE;HEADERS;HEADERS_EXCLUDE" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "vigil_add_library(${component}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_EXPORT_NAME)
    set(ARG_EXPORT_NAME ${component})
  endif()
  set(target vigil_${component})
  add_library(${target} ${ARG_SOURCES})
  add_library(vigil::${ARG_EXPORT_NAME} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${ARG_EXPORT_NAME} OUTPUT_NAME ${target})
  target_include_directories(${target}
    PUBLIC
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_features(${target} PUBLIC cxx_std_20)

  # What the install rules need, per component: vigil components linked, packages to find,
  # pkg-config modules and flags (public ones separately: they stay public for shared libraries).
  set(components "")
  set(packages "")
  foreach(scope PUBLIC PRIVATE)
    set(pc_${scope} "")
    set(libs_${scope} "")
    foreach(dep IN LISTS ARG_${scope})
      if(dep MATCHES "^vigil::(.+)$")
        list(APPEND components "${CMAKE_MATCH_1}")
        string(REPLACE "_" "-" dep_pc "vigil-${CMAKE_MATCH_1}")
        list(APPEND pc_${scope} "${dep_pc}")
        target_link_libraries(${target} ${scope} ${dep})
        continue()
      endif()
      _vigil_dependency_info("${dep}" find pc libs header_only)
      if(NOT TARGET ${dep})
        separate_arguments(find_args UNIX_COMMAND "${find}")
        find_package(${find_args} REQUIRED)
      endif()
      if(header_only AND scope STREQUAL "PRIVATE")
        # Compiled in; nothing for the consumer of the installed library to find or link.
        target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:${dep}>)
        continue()
      endif()
      target_link_libraries(${target} ${scope} ${dep})
      list(APPEND packages "${find}")
      list(APPEND pc_${scope} ${pc})
      list(APPEND libs_${scope} ${libs})
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES components)
  list(REMOVE_DUPLICATES packages)
  string(REPLACE "_" "-" pc_name "vigil-${component}")
  set_target_properties(${target} PROPERTIES
    VIGIL_COMPONENT "${ARG_EXPORT_NAME}"
    VIGIL_PC_NAME "${pc_name}"
    VIGIL_INTERNAL "${ARG_INTERNAL}"
    VIGIL_COMPONENTS "${components}"
    VIGIL_PACKAGES "${packages}"
    VIGIL_PC_PUBLIC "${pc_PUBLIC}"
    VIGIL_PC_PRIVATE "${pc_PRIVATE}"
    VIGIL_LIBS_PUBLIC "${libs_PUBLIC}"
    VIGIL_LIBS_PRIVATE "${libs_PRIVATE}"
    VIGIL_HEADERS "${ARG_HEADERS}"
    VIGIL_HEADERS_EXCLUDE "${ARG_HEADERS_EXCLUDE}")
  vigil_set_warnings(${target})
  set_property(GLOBAL APPEND PROPERTY VIGIL_LIBRARIES ${target})
endfunction()
