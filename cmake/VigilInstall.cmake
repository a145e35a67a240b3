# cmake/VigilInstall.cmake: install rules, the CMake package (find_package(vigil)) and the
# pkg-config files, from what vigil_add_library() recorded (cmake/VigilLibrary.cmake). Included
# from the top-level CMakeLists.txt when VIGIL_INSTALL is ON, after src/.
#
# Per component <c> (core, metrics, trace, trace_spdlog, health, ops, exporters, admin):
#   include/vigil/<its HEADERS>                      public headers
#   <libdir>/libvigil_<c>.a                          the library
#   <libdir>/cmake/vigil/vigil-<c>-targets.cmake     its own export set: imported target vigil::<c>
#   <libdir>/pkgconfig/vigil-<c>.pc                  (trace_spdlog: vigil-trace-spdlog.pc)
# and vigilConfig.cmake / vigilConfigVersion.cmake, whose component table (generated below) says
# which vigil components and packages each component needs: find_package(vigil COMPONENTS
# metrics) finds Threads and nothing else.
#
# Static libraries (the default) carry their private link dependencies to the consumer, so their
# .pc files list those in Requires/Libs; for BUILD_SHARED_LIBS=ON they move to *.private.

include(CMakePackageConfigHelpers)

set(VIGIL_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/vigil"
  CACHE STRING "Where vigilConfig.cmake is installed, relative to the prefix")
set(VIGIL_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
  CACHE STRING "Where the vigil-*.pc files are installed, relative to the prefix")
mark_as_advanced(VIGIL_INSTALL_CMAKEDIR VIGIL_INSTALL_PKGCONFIGDIR)

file(RELATIVE_PATH VIGIL_PC_PREFIX_FROM_PCFILEDIR "/prefix/${VIGIL_INSTALL_PKGCONFIGDIR}" "/prefix")
string(REGEX REPLACE "/$" "" VIGIL_PC_PREFIX_FROM_PCFILEDIR "${VIGIL_PC_PREFIX_FROM_PCFILEDIR}")

get_property(_vigil_libraries GLOBAL PROPERTY VIGIL_LIBRARIES)
set(VIGIL_COMPONENT_TABLE "")
set(VIGIL_COMPONENTS "")
set(_vigil_defined "")
foreach(t IN LISTS _vigil_libraries)
  foreach(p COMPONENT PC_NAME INTERNAL COMPONENTS PACKAGES PC_PUBLIC PC_PRIVATE LIBS_PUBLIC
            LIBS_PRIVATE HEADERS HEADERS_EXCLUDE)
    get_target_property(${p} ${t} VIGIL_${p})
  endforeach()
  foreach(dep IN LISTS COMPONENTS)
    if(NOT dep IN_LIST _vigil_defined)
      message(FATAL_ERROR "vigil install: ${COMPONENT} links vigil::${dep}, which must be "
        "defined (add_subdirectory in src/CMakeLists.txt) before it")
    endif()
  endforeach()
  list(APPEND _vigil_defined ${COMPONENT})
  if(NOT INTERNAL)
    list(APPEND VIGIL_COMPONENTS ${COMPONENT})
  endif()

  # ---- Library, export set, headers ----
  install(TARGETS ${t}
    EXPORT vigil-${COMPONENT}-targets
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT vigil_development
    LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT vigil_runtime
      NAMELINK_COMPONENT vigil_development
    RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT vigil_runtime
    INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
  install(EXPORT vigil-${COMPONENT}-targets
    NAMESPACE vigil::
    FILE vigil-${COMPONENT}-targets.cmake
    DESTINATION "${VIGIL_INSTALL_CMAKEDIR}"
    COMPONENT vigil_development)
  set(excludes "")
  foreach(file IN LISTS HEADERS_EXCLUDE)
    string(REPLACE "." "\\." file "${file}")
    list(APPEND excludes REGEX "/include/vigil/${file}$" EXCLUDE)
  endforeach()
  foreach(entry IN LISTS HEADERS)
    set(path "${PROJECT_SOURCE_DIR}/include/vigil/${entry}")
    get_filename_component(dir "${CMAKE_INSTALL_INCLUDEDIR}/vigil/${entry}" DIRECTORY)
    if(IS_DIRECTORY "${path}")
      install(DIRECTORY "${path}" DESTINATION "${dir}" COMPONENT vigil_development
        FILES_MATCHING PATTERN "*.h" ${excludes})
    else()
      install(FILES "${path}" DESTINATION "${dir}" COMPONENT vigil_development)
    endif()
  endforeach()

  # ---- vigil-<component>.pc ----
  get_target_property(type ${t} TYPE)
  if(type STREQUAL "SHARED_LIBRARY")
    set(req ${PC_PUBLIC})
    set(libs ${LIBS_PUBLIC})
    set(req_private ${PC_PRIVATE})
    set(libs_private ${LIBS_PRIVATE})
  else()
    set(req ${PC_PUBLIC} ${PC_PRIVATE})
    set(libs ${LIBS_PUBLIC} ${LIBS_PRIVATE})
    set(req_private "")
    set(libs_private "")
  endif()
  foreach(v req libs req_private libs_private)
    list(REMOVE_DUPLICATES ${v})
  endforeach()
  set(VIGIL_PC_NAME "${PC_NAME}")
  set(VIGIL_PC_DESCRIPTION "vigil ${COMPONENT}: part of vigil, observability for C++ services")
  set(VIGIL_PC_LINK "-l${t}")
  string(REPLACE ";" ", " VIGIL_PC_REQUIRES "${req}")
  string(REPLACE ";" ", " VIGIL_PC_REQUIRES_PRIVATE "${req_private}")
  string(REPLACE ";" " " VIGIL_PC_LIBS "${libs}")
  string(REPLACE ";" " " VIGIL_PC_LIBS_PRIVATE "${libs_private}")
  configure_file("${PROJECT_SOURCE_DIR}/cmake/vigil.pc.in"
    "${PROJECT_BINARY_DIR}/pkgconfig/${PC_NAME}.pc" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/pkgconfig/${PC_NAME}.pc"
    DESTINATION "${VIGIL_INSTALL_PKGCONFIGDIR}" COMPONENT vigil_development)

  # ---- The component's row in vigilConfig.cmake's table ----
  string(REPLACE ";" "|" packages "${PACKAGES}")
  string(APPEND VIGIL_COMPONENT_TABLE
    "set(_vigil_needs_${COMPONENT} \"${COMPONENTS}\")  # vigil components\n"
    "set(_vigil_finds_${COMPONENT} \"${packages}\")  # find_package calls, |-separated\n")
  message(STATUS "vigil install: ${COMPONENT}: vigil [${COMPONENTS}], packages [${PACKAGES}], "
    "pkg-config ${PC_NAME} [${req}], headers [${HEADERS}]")
endforeach()
set(VIGIL_ALL_COMPONENTS "${_vigil_defined}")

# ---- vigilConfig.cmake / vigilConfigVersion.cmake -------------------------------------------
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
  "${PROJECT_SOURCE_DIR}/cmake/FindRE2.cmake"  # re2 has no CMake package in Debian 12
  DESTINATION "${VIGIL_INSTALL_CMAKEDIR}"
  COMPONENT vigil_development)
