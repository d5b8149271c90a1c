# The torch precompiled header is 600+ MB: loading it costs a translation unit that never
# includes LibTorch more than compiling it plainly (measured on 2 cores: 24 s with it, 9 s
# without; docs/performance.md, "Build time"). ds_skip_pch_where_torch_free(target) turns the PCH
# off for the target's sources whose #include closure (project headers followed, system headers
# looked at by name) reaches no torch/ATen/c10 header.

# Sets ${out} to TRUE when `file` (absolute) or a project header it includes, transitively,
# includes a LibTorch header. Results are memoised in global properties for this configure run.
function(_ds_includes_torch file out)
  get_property(known GLOBAL PROPERTY "DS_TORCH_${file}" SET)
  if(known)
    get_property(v GLOBAL PROPERTY "DS_TORCH_${file}")
    set(${out} ${v} PARENT_SCOPE)
    return()
  endif()
  # Cycles (a header reached again while it is being scanned) count as torch-free here; the
  # scan that started them decides.
  set_property(GLOBAL PROPERTY "DS_TORCH_${file}" FALSE)
  set(result FALSE)
  file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"].*" "\\1" header "${line}")
    if(header MATCHES "^(torch|ATen|c10|caffe2)/")
      set(result TRUE)
      break()
    endif()
    if(EXISTS "${PROJECT_SOURCE_DIR}/${header}")
      _ds_includes_torch("${PROJECT_SOURCE_DIR}/${header}" sub)
      if(sub)
        set(result TRUE)
        break()
      endif()
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY "DS_TORCH_${file}" ${result})
  set(${out} ${result} PARENT_SCOPE)
endfunction()

function(ds_skip_pch_where_torch_free target)
  get_target_property(sources ${target} SOURCES)
  get_target_property(dir ${target} SOURCE_DIR)
  foreach(src IN LISTS sources)
    if(NOT src MATCHES "\\.cpp$")
      continue()
    endif()
    get_filename_component(path "${src}" ABSOLUTE BASE_DIR "${dir}")
    _ds_includes_torch("${path}" torch)
    if(NOT torch)
      set_source_files_properties("${path}" TARGET_DIRECTORY ${target} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
    endif()
  endforeach()
endfunction()
