# Points pkg-config at Debian's OpenMP build of OpenBLAS (libopenblas-openmp-dev) when it is
# installed, so that `openblas` resolves to it rather than to the system's default (pthread) build.
# Used by the project and by the installed descentConfig.cmake, so consumers link the same build.
set(_descent_openblas_openmp "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp/pkgconfig")
if(EXISTS "${_descent_openblas_openmp}/openblas.pc")
  if(NOT "$ENV{PKG_CONFIG_PATH}" MATCHES "openblas-openmp")
    set(ENV{PKG_CONFIG_PATH} "${_descent_openblas_openmp}:$ENV{PKG_CONFIG_PATH}")
  endif()
else()
  message(WARNING "descent: OpenBLAS's OpenMP build (Debian libopenblas-openmp-dev) is not installed; "
                  "the default build's threads compete with OpenMP's when both run (slow with 2+ threads)")
endif()
unset(_descent_openblas_openmp)
