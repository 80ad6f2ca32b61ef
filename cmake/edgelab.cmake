# Helpers shared by every folder.

# edgelab_test(NAME SOURCES... LIBS ...): one GoogleTest executable, its tests
# registered with CTest one by one. Tests find the built programs through
# EDGELAB_BIN_DIR and the source tree through EDGELAB_SOURCE_DIR, and link
# tests/support (temporary directories, the seed lab, `eventually`).
include(GoogleTest)
function(edgelab_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} edgelab_test_support GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    EDGELAB_BIN_DIR="${PROJECT_BINARY_DIR}/bin"
    EDGELAB_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  set(props TIMEOUT 300)
  if(T_LABELS)
    list(APPEND props LABELS "${T_LABELS}")
  endif()
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST PROPERTIES ${props})
endfunction()

set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
