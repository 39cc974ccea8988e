# kiln_library(NAME DIR [DEPS ...] [EXCLUDE files...]): one static library per layer, made of
# every .cpp/.cu file in DIR (recursively) but the EXCLUDE ones (an optional dependency's
# alternative), so adding a file needs no CMake edit.
function(kiln_library name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS;EXCLUDE" ${ARGN})
  file(GLOB_RECURSE _srcs CONFIGURE_DEPENDS
       ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp ${CMAKE_CURRENT_SOURCE_DIR}/*.cu)
  foreach(_x IN LISTS ARG_EXCLUDE)
    list(REMOVE_ITEM _srcs ${CMAKE_CURRENT_SOURCE_DIR}/${_x})
  endforeach()
  add_library(${name} STATIC ${_srcs})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# kiln_test_dir(NAME DIR LIBS... [LABELS ...]): one gtest executable for a test folder.
function(kiln_test_dir name dir)
  cmake_parse_arguments(ARG "" "" "LIBS;LABELS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${dir}/*.cpp)
  if(NOT _srcs)
    return()
  endif()
  add_executable(${name} ${_srcs})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} kiln_test_support GTest::gtest GTest::gtest_main)
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  # Paths reach the tests as compiled-in defaults (tests/support), overridable by env vars.
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" ENVIRONMENT "${KILN_TEST_ENV}" DISCOVERY_TIMEOUT 60)
endfunction()
