# Regenerated on every build so `ds --version` names the commit it was built from.
set(DS_VERSION_OUT ${CMAKE_CURRENT_BINARY_DIR}/generated/common/build_info.cpp)
add_custom_target(ds_build_info
  COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_CURRENT_SOURCE_DIR} -DOUT=${DS_VERSION_OUT}
          -DVERSION=${PROJECT_VERSION} -DCXX_ID=${CMAKE_CXX_COMPILER_ID}
          -DCXX_VER=${CMAKE_CXX_COMPILER_VERSION} -DBUILD_TYPE=${CMAKE_BUILD_TYPE}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/write_build_info.cmake
  BYPRODUCTS ${DS_VERSION_OUT}
  COMMENT "ds build info")
