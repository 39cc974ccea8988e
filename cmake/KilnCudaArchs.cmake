# KILN_CUDA_ARCHS: the GPU architectures kiln's own CUDA kernels are compiled for.
#   auto    (default) the local GPUs' when nvcc's device query finds one, else 90 (H100/H200),
#           so a machine without a GPU (CI) compiles one architecture
#   native  the local GPUs' (configure error when there is none)
#   all     SASS for every architecture this nvcc can target (`nvcc --list-gpu-code`) plus
#           PTX of the newest, which the driver compiles for GPUs newer than the toolkit
#   a list  CMake's CUDA_ARCHITECTURES entries, e.g. "80;86-real;90": NN is SASS + PTX,
#           NN-real SASS only, NN-virtual PTX only, an a/f suffix (90a, 100f) as nvcc's
# The result becomes CMAKE_CUDA_ARCHITECTURES; kiln_cuda_carry_archs() hands it to the
# code, so the binary knows (and `kiln env` shows) which architectures it carries.
# scripts/check-all-archs.sh builds `all` and checks every kernel library with cuobjdump.
set(KILN_CUDA_ARCHS auto CACHE STRING "CUDA architectures: auto, native, all, or a list such as 80;86;90")

# The compute capabilities nvcc can generate SASS for, ascending ("75;80;...;121").
function(_kiln_nvcc_sass_archs out)
  execute_process(COMMAND ${CMAKE_CUDA_COMPILER} --list-gpu-code
                  OUTPUT_VARIABLE _codes RESULT_VARIABLE _rc ERROR_QUIET)
  string(REGEX MATCHALL "sm_[0-9]+[\n\r]" _sm "${_codes}")
  string(REGEX REPLACE "sm_([0-9]+)[\n\r]" "\\1" _sm "${_sm}")
  if(NOT _rc EQUAL 0 OR NOT _sm)
    message(FATAL_ERROR "KILN_CUDA_ARCHS: `${CMAKE_CUDA_COMPILER} --list-gpu-code` listed no sm_ architectures")
  endif()
  list(SORT _sm COMPARE NATURAL)
  set(${out} ${_sm} PARENT_SCOPE)
endfunction()

# The local GPUs' compute capabilities ("86;90"), empty when nvcc's device query finds none.
function(_kiln_local_gpu_archs out)
  get_filename_component(_bin ${CMAKE_CUDA_COMPILER} DIRECTORY)
  set(_found "")
  if(EXISTS ${_bin}/__nvcc_device_query)
    execute_process(COMMAND ${_bin}/__nvcc_device_query
                    OUTPUT_VARIABLE _query RESULT_VARIABLE _rc ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(_rc EQUAL 0)
      string(REGEX MATCHALL "[0-9]+" _found "${_query}")
      list(REMOVE_DUPLICATES _found)
    endif()
  endif()
  set(${out} "${_found}" PARENT_SCOPE)
endfunction()

function(kiln_resolve_cuda_archs out)
  set(_choice "${KILN_CUDA_ARCHS}")
  if(_choice STREQUAL "all")
    _kiln_nvcc_sass_archs(_sm)
    list(POP_BACK _sm _newest)
    list(TRANSFORM _sm APPEND "-real")
    set(_archs ${_sm} ${_newest})  # the newest without -real: SASS and PTX
  elseif(_choice STREQUAL "native" OR _choice STREQUAL "auto")
    _kiln_local_gpu_archs(_archs)
    if(NOT _archs AND _choice STREQUAL "native")
      message(FATAL_ERROR "KILN_CUDA_ARCHS=native: nvcc's device query found no GPU; use auto, all or a list such as 80;90")
    elseif(NOT _archs)
      set(_archs 90)
    endif()
  else()
    set(_archs ${_choice})
    foreach(_a IN LISTS _archs)
      if(NOT _a MATCHES "^[0-9]+[af]?(-real|-virtual)?$")
        message(FATAL_ERROR "KILN_CUDA_ARCHS entry '${_a}': expected auto, native, all, or a list of NN, NN-real, NN-virtual (NN a compute capability such as 86 or 90a)")
      endif()
    endforeach()
  endif()
  set(${out} "${_archs}" PARENT_SCOPE)
endfunction()

kiln_resolve_cuda_archs(_kiln_cuda_archs)
# One knob: a CMAKE_CUDA_ARCHITECTURES given by hand (not the value kiln set last time)
# would be overwritten, so it is refused rather than ignored.
if(DEFINED CACHE{CMAKE_CUDA_ARCHITECTURES}
   AND NOT "${CMAKE_CUDA_ARCHITECTURES}" STREQUAL "${_kiln_cuda_archs}"
   AND NOT "${CMAKE_CUDA_ARCHITECTURES}" STREQUAL "${KILN_CUDA_ARCHITECTURES_SET}")
  message(FATAL_ERROR "CMAKE_CUDA_ARCHITECTURES=${CMAKE_CUDA_ARCHITECTURES}: kiln's architectures are chosen with -DKILN_CUDA_ARCHS=auto|native|all|<list>")
endif()
set(CMAKE_CUDA_ARCHITECTURES "${_kiln_cuda_archs}" CACHE STRING "Set from KILN_CUDA_ARCHS" FORCE)
set(KILN_CUDA_ARCHITECTURES_SET "${_kiln_cuda_archs}" CACHE INTERNAL "")
message(STATUS "kiln CUDA architectures (KILN_CUDA_ARCHS=${KILN_CUDA_ARCHS}): ${_kiln_cuda_archs}")

# Compiles the architecture list into `source` of `target` as KILN_CUDA_ARCHITECTURES
# ("75-real,...,121"), the form backends/cuda/device_support.cpp parses.
function(kiln_cuda_carry_archs target source)
  get_target_property(_archs ${target} CUDA_ARCHITECTURES)
  string(REPLACE ";" "," _archs "${_archs}")
  set_property(SOURCE ${source} APPEND PROPERTY COMPILE_DEFINITIONS "KILN_CUDA_ARCHITECTURES=\"${_archs}\"")
endfunction()
