# The C package test, run by ctest as a script:
#   cmake -DBUILD_DIR=<build> -DCMAKE_EXE=<cmake> -DWORK=<dir> -DCONSUMER=<src>
#         [-DGENERATOR=<gen>] [-DC_COMPILER=<cc>] [-DPKG_CONFIG=<pkg-config>]
#         -P install_test.cmake
# 1. `cmake --install BUILD_DIR --prefix WORK/prefix`, and the files a C user
#    needs are there (headers, shared and static library, CMake package config,
#    pkg-config file);
# 2. CONSUMER (an external project) configures with CMAKE_PREFIX_PATH=prefix,
#    finds cellardb with find_package from that prefix, builds against
#    cellardb::cellardb and cellardb::cellardb_static, and each program prints OK;
# 3. the same main.c builds with the flags of `pkg-config cellardb`
#    (PKG_CONFIG_PATH=<prefix>/<libdir>/pkgconfig) and prints OK.
# Ends with "N passed, N failed"; a missing pkg-config is reported as skipped.

foreach(v BUILD_DIR CMAKE_EXE WORK CONSUMER)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "install_test.cmake: -D${v}=... is required")
  endif()
endforeach()

set(passed 0)
set(failed 0)
set(skipped 0)
macro(check_pass name)
  math(EXPR passed "${passed} + 1")
  message("PASS ${name}")
endmacro()
macro(check_fail name why)
  math(EXPR failed "${failed} + 1")
  message("FAIL ${name}: ${why}")
endmacro()
macro(finish)
  message("${passed} passed, ${failed} failed, ${skipped} skipped")
  if(failed GREATER 0)
    message(FATAL_ERROR "install test failed")
  endif()
  return()
endmacro()

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(prefix ${WORK}/prefix)

# ---- 1. install ----
execute_process(COMMAND ${CMAKE_EXE} --install ${BUILD_DIR} --prefix ${prefix}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  check_fail("cmake --install" "exit ${rc}: ${out}")
  finish()
endif()
file(GLOB_RECURSE _cfg ${prefix}/*/cellardbConfig.cmake)
file(GLOB_RECURSE _pc ${prefix}/*/pkgconfig/cellardb.pc)
file(GLOB_RECURSE _so ${prefix}/*/libcellardb.so)
file(GLOB_RECURSE _a ${prefix}/*/libcellardb.a)
set(missing "")
foreach(f include/cellardb.h include/cellardb_vfs.h)
  if(NOT EXISTS ${prefix}/${f})
    list(APPEND missing ${f})
  endif()
endforeach()
foreach(v _cfg _pc _so _a)
  if(NOT ${v})
    list(APPEND missing ${v})
  endif()
endforeach()
if(missing)
  check_fail("cmake --install" "missing from the prefix: ${missing}")
  finish()
endif()
list(GET _pc 0 _pc)
list(GET _so 0 _so)
get_filename_component(pcdir ${_pc} DIRECTORY)
get_filename_component(libdir ${_so} DIRECTORY)
check_pass("cmake --install puts headers, libraries, CMake config and cellardb.pc in the prefix")

# ---- 2. find_package(cellardb) ----
set(gen "")
if(GENERATOR)
  set(gen -G ${GENERATOR})
endif()
set(cc "")
if(C_COMPILER)
  set(cc -DCMAKE_C_COMPILER=${C_COMPILER})
endif()
set(cbuild ${WORK}/consumer-cmake)
execute_process(COMMAND ${CMAKE_EXE} -S ${CONSUMER} -B ${cbuild} ${gen} ${cc}
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
    # only the prefix under test may provide cellardb
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  check_fail("find_package(cellardb)" "configure exit ${rc}: ${out}")
else()
  file(STRINGS ${cbuild}/CMakeCache.txt _dir REGEX "^cellardb_DIR:")
  string(REGEX REPLACE "^cellardb_DIR:[A-Z]+=" "" _dir "${_dir}")
  string(FIND "${_dir}" "${prefix}/" _at)
  if(NOT _at EQUAL 0)
    check_fail("find_package(cellardb)" "found ${_dir}, not the package in ${prefix}")
  else()
    execute_process(COMMAND ${CMAKE_EXE} --build ${cbuild}
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT rc EQUAL 0)
      check_fail("find_package(cellardb)" "build exit ${rc}: ${out}")
    else()
      foreach(kind shared static)
        execute_process(COMMAND ${cbuild}/consumer_${kind} ${WORK}/cmake_${kind}.cellar
          RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
        if(rc EQUAL 0 AND out STREQUAL "OK\n")
          check_pass("find_package(cellardb): the ${kind}-library program prints OK")
        else()
          check_fail("find_package(cellardb) ${kind}" "exit ${rc}, output '${out}' ${err}")
        endif()
      endforeach()
    endif()
  endif()
endif()

# ---- 3. pkg-config ----
if(NOT PKG_CONFIG OR NOT C_COMPILER)
  math(EXPR skipped "${skipped} + 1")
  message("SKIP pkg-config: pkg-config or the C compiler was not found")
  finish()
endif()
# The prefix is given explicitly: the .pc file names the prefix chosen at
# configure time (CMAKE_INSTALL_PREFIX), and this test installs elsewhere.
set(ENV{PKG_CONFIG_PATH} ${pcdir})
set(ENV{PKG_CONFIG_LIBDIR} ${pcdir})
execute_process(COMMAND ${PKG_CONFIG} --define-variable=prefix=${prefix} --cflags --libs cellardb
  RESULT_VARIABLE rc OUTPUT_VARIABLE flags ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  check_fail("pkg-config cellardb" "exit ${rc}: ${err}")
  finish()
endif()
execute_process(COMMAND ${PKG_CONFIG} --modversion cellardb
  OUTPUT_VARIABLE ver OUTPUT_STRIP_TRAILING_WHITESPACE)
message("pkg-config cellardb ${ver}: ${flags}")
separate_arguments(flags UNIX_COMMAND "${flags}")
set(prog ${WORK}/consumer_pkgconfig)
execute_process(COMMAND ${C_COMPILER} ${CONSUMER}/main.c -o ${prog} ${flags}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  check_fail("pkg-config build" "exit ${rc}: ${out}")
  finish()
endif()
set(ENV{LD_LIBRARY_PATH} ${libdir})
execute_process(COMMAND ${prog} ${WORK}/pkgconfig.cellar
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 AND out STREQUAL "OK\n")
  check_pass("pkg-config --cflags --libs cellardb builds a program that prints OK")
else()
  check_fail("pkg-config program" "exit ${rc}, output '${out}' ${err}")
endif()
finish()
