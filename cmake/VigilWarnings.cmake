# vigil_set_warnings(target): the project's own warning flags; errors when VIGIL_WERROR is on.
function(vigil_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
    -Wno-sign-conversion -Wno-missing-field-initializers -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual)
  if(VIGIL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
