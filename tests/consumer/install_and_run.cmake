# ctest case install_consumer: installs the build tree into a temporary prefix, runs the installed
# descent program, then configures, builds and runs the outside project tests/consumer against
# that prefix only.
# cmake -DBUILD_DIR=... -DWORK_DIR=... -DLIBDIR=... -DGENERATOR=... -DCXX_COMPILER=...
#       -DBUILD_TYPE=... -DCXX_FLAGS=... -DLINKER_FLAGS=... -P install_and_run.cmake
cmake_minimum_required(VERSION 3.25)

function(run_step description)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "install_consumer: ${description} failed (${result})")
  endif()
endfunction()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

run_step("installing ${BUILD_DIR}" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
set(config ${prefix}/${LIBDIR}/cmake/descent/descentConfig.cmake)
if(NOT EXISTS ${config})
  message(FATAL_ERROR "install_consumer: the install has no ${config}")
endif()

# The descent program, when the build tree has it (DESCENT_BUILD_TOOLS), is installed in bin/ and
# trains from there: a one-epoch spirals run that ends with its JSON summary.
file(STRINGS ${BUILD_DIR}/CMakeCache.txt build_tools REGEX "^DESCENT_BUILD_TOOLS:BOOL=ON$")
file(STRINGS ${BUILD_DIR}/CMakeCache.txt bindir REGEX "^CMAKE_INSTALL_BINDIR:")
string(REGEX REPLACE "^[^=]*=" "" bindir "${bindir}")
if(build_tools)
  set(program ${prefix}/${bindir}/descent)
  if(NOT EXISTS ${program})
    message(FATAL_ERROR "install_consumer: the install has no ${program}")
  endif()
  execute_process(COMMAND ${program} train --model mlp --dataset spirals --epochs 1 --limit-train-batches 4
                          --batch-size 50 --threads 2 --out ${WORK_DIR}/run
                  RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE errors)
  if(NOT result EQUAL 0 OR NOT output MATCHES "\"test_accuracy\":")
    message(FATAL_ERROR "install_consumer: ${program} train failed (${result}):\n${output}${errors}")
  endif()
endif()

# Only the fresh prefix may provide descent: no package registry, no build tree.
run_step("configuring the consumer"
  ${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR} -B ${consumer_build} -G ${GENERATOR}
  -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
  "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}"
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
file(STRINGS ${consumer_build}/CMakeCache.txt found_dir REGEX "^descent_DIR:")
if(NOT found_dir STREQUAL "descent_DIR:PATH=${prefix}/${LIBDIR}/cmake/descent")
  message(FATAL_ERROR "install_consumer: descent was found elsewhere: ${found_dir}")
endif()
run_step("building the consumer" ${CMAKE_COMMAND} --build ${consumer_build})
run_step("running the consumer" ${consumer_build}/consumer)
