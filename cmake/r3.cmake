# r3_add_library(name SHARED|STATIC [OVERRIDE] DEFINES "A=1;B=2")
# Builds one variant of the library: a STATIC one holds every module, a
# SHARED one the core allocator alone (see R3_CORE_SOURCES). OVERRIDE adds
# the libc names (malloc, free, ...); without it only the r3_* API is
# exported.
function(r3_add_library name kind)
  cmake_parse_arguments(ARG "OVERRIDE" "" "DEFINES" ${ARGN})
  if(kind STREQUAL "SHARED")
    set(srcs ${R3_CORE_SOURCES})
  else()
    set(srcs ${R3_SOURCES})
  endif()
  if(ARG_OVERRIDE)
    list(APPEND srcs ${PROJECT_SOURCE_DIR}/src/core/override.c)
  endif()
  add_library(${name} ${kind} ${srcs})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/include
                                     PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(${name} PRIVATE ${ARG_DEFINES})
  if(ARG_OVERRIDE)
    target_compile_definitions(${name} PRIVATE R3_OVERRIDE=1)
  endif()
  target_compile_options(${name} PRIVATE -fvisibility=hidden -ftls-model=initial-exec
                                         -fno-builtin-malloc -fno-builtin-free
                                         -fno-semantic-interposition)
  target_link_libraries(${name} PUBLIC pthread)
  if(kind STREQUAL "SHARED")
    target_link_options(${name} PRIVATE -Wl,-z,now -Wl,--no-undefined)
  endif()
endfunction()
