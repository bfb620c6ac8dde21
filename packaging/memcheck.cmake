# Run one program under valgrind memcheck and fail on any error that belongs
# to cellardb: the ctest entries python_memcheck, lua_memcheck, node_memcheck
# and swig_java_memcheck use it (and tests/python/sanitize.sh valgrind).
#
#   cmake -DVALGRIND=<valgrind> -DLOG_DIR=<dir>
#         [-DFRAMES=<regex>] [-DSUPPRESSIONS=<a.supp;b.supp>] [-DVALGRIND_ARGS=<args>]
#         -P memcheck.cmake -- <program> [args...]
#
# Fails when the program fails, or when a log record is an invalid read,
# write or free, a use of uninitialised values, a bad syscall argument, an
# overlapping copy or a definitely lost block, and (with FRAMES) one of its
# stack frames matches FRAMES. FRAMES lets a run ignore what the interpreter
# does on its own (CPython and V8 are not memcheck-clean) while keeping every
# record that goes through the binding or the core: the logs name full source
# paths (--fullpath-after=), so FRAMES matches source directories, static
# functions included. Without FRAMES every such record fails the run.
# A leak whose allocation stack holds no cellardb frame (an extra reference
# kept on an object the interpreter made) is outside what FRAMES can see;
# tests/python/valgrind_smoke.py checks its arguments' reference counts.

if(NOT VALGRIND OR NOT LOG_DIR)
  message(FATAL_ERROR "memcheck.cmake: VALGRIND and LOG_DIR are required")
endif()

# The program and its arguments: everything after "--".
set(cmd "")
set(after_dashes FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE 1 ${last})
  if(after_dashes)
    list(APPEND cmd "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(after_dashes TRUE)
  endif()
endforeach()
if(NOT cmd)
  message(FATAL_ERROR "memcheck.cmake: no program given after --")
endif()

set(vg_args
  --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite
  --num-callers=50
  # the interpreter's own records must not use up valgrind's default limit
  # of 1000 contexts and hide ours
  --error-limit=no
  # a module unloaded at exit (Lua's dlclose) keeps its symbols in the report
  --keep-debuginfo=yes
  # full source paths in every frame, for FRAMES
  --fullpath-after=
  "--log-file=${LOG_DIR}/memcheck.%p.log")
foreach(s ${SUPPRESSIONS})
  list(APPEND vg_args "--suppressions=${s}")
endforeach()
if(VALGRIND_ARGS)
  separate_arguments(extra UNIX_COMMAND "${VALGRIND_ARGS}")
  list(APPEND vg_args ${extra})
endif()

file(REMOVE_RECURSE "${LOG_DIR}")
file(MAKE_DIRECTORY "${LOG_DIR}")
string(TIMESTAMP t0 "%s")
execute_process(COMMAND ${VALGRIND} ${vg_args} ${cmd} RESULT_VARIABLE rc)
string(TIMESTAMP t1 "%s")
math(EXPR secs "${t1} - ${t0}")

# The records that count as errors (the first line of a record names its kind).
set(kinds "Invalid (read|write|free)|Mismatched free|uninitialised|Syscall param|Source and destination overlap|Jump to the invalid address|definitely lost in loss record|has a fishy value")
set(mark "@@memcheck-record@@")

set(bad 0)
set(ignored 0)
set(report "")
file(GLOB logs "${LOG_DIR}/memcheck.*.log")
if(NOT logs)
  message(FATAL_ERROR "memcheck: valgrind wrote no log in ${LOG_DIR}")
endif()
foreach(log ${logs})
  file(READ "${log}" text)
  # Records are separated by an empty "==pid== " line. Walk them with
  # string(FIND) rather than a CMake list: records hold ';' and '['.
  string(REGEX REPLACE "\n==[0-9]+== *\n" "\n${mark}\n" text "${text}")
  string(LENGTH "${mark}" mark_len)
  while(NOT text STREQUAL "")
    string(FIND "${text}" "${mark}" cut)
    if(cut EQUAL -1)
      set(rec "${text}")
      set(text "")
    else()
      string(SUBSTRING "${text}" 0 ${cut} rec)
      math(EXPR next "${cut} + ${mark_len}")
      string(SUBSTRING "${text}" ${next} -1 text)
    endif()
    string(REGEX MATCH "^\n*[^\n]*" head "${rec}")
    if(NOT head MATCHES "${kinds}")
      continue()
    endif()
    if(FRAMES AND NOT rec MATCHES "${FRAMES}")
      math(EXPR ignored "${ignored} + 1")
      continue()
    endif()
    math(EXPR bad "${bad} + 1")
    if(bad LESS_EQUAL 10)
      string(APPEND report "${rec}\n")
    endif()
  endwhile()
endforeach()

if(FRAMES)
  set(note " (${ignored} record(s) of the interpreter's own not counted)")
else()
  set(note "")
endif()
if(bad GREATER 0)
  message("${report}")
  message(FATAL_ERROR "memcheck: ${bad} error record(s) in cellardb code${note}; "
                      "logs in ${LOG_DIR}")
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "memcheck: the program failed under valgrind (exit status ${rc}); "
                      "logs in ${LOG_DIR}")
endif()
message("memcheck: clean for cellardb code${note}, ${secs} s under valgrind")
