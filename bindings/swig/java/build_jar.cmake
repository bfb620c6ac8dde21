# build_jar.cmake - run after the JNI library is built (cmake -P): compile the
# SWIG-generated and hand-written classes into OUT/cellardb.jar, then the
# tests in TESTS into OUT/test-classes. The generated file list is only known
# after SWIG ran, hence a script rather than add_jar.
foreach(v JAVAC JAR GENERATED HANDWRITTEN TESTS OUT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "build_jar.cmake: ${v} is not set")
  endif()
endforeach()

file(GLOB gen_sources ${GENERATED}/*.java)
file(GLOB hand_sources ${HANDWRITTEN}/*.java)
file(REMOVE_RECURSE ${OUT}/classes ${OUT}/test-classes)
file(MAKE_DIRECTORY ${OUT}/classes ${OUT}/test-classes)

execute_process(
  COMMAND ${JAVAC} -encoding UTF-8 -Xlint:all -Xlint:-options --release 11
          -d ${OUT}/classes ${gen_sources} ${hand_sources}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "javac failed for the cellardb classes")
endif()
execute_process(COMMAND ${JAR} cf ${OUT}/cellardb.jar -C ${OUT}/classes .
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "jar failed for cellardb.jar")
endif()

file(GLOB test_sources ${TESTS}/*.java)
if(test_sources)
  execute_process(
    COMMAND ${JAVAC} -encoding UTF-8 -Xlint:all -Xlint:-options --release 11
            -cp ${OUT}/cellardb.jar -d ${OUT}/test-classes ${test_sources}
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "javac failed for the Java tests")
  endif()
endif()
