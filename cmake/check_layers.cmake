# Fails when a source file includes a header across an arrow the layering
# does not allow (the README's dependency picture, "Layers"). Run as
# `cmake -DSOURCE_DIR=... -P cmake/check_layers.cmake`, by every build
# (target edgelab_layers) and by CTest (test layers).
#
# Each layer lists the layers its files may include, itself included.
# tests/, bench/, fuzz/ and sanitize/ may include every layer.
cmake_minimum_required(VERSION 3.25)

set(allowed_common common)
set(allowed_net net common)
set(allowed_provision provision common)
set(allowed_backends backends provision net common)
set(allowed_proxy proxy net common)
set(allowed_checks checks provision common)
set(allowed_report report checks provision common)
set(allowed_diff diff report common)
set(allowed_watch watch diff report checks provision net common)
set(allowed_runner runner report checks proxy provision net common)
set(allowed_audit audit checks proxy provision common)
set(allowed_cli cli audit runner watch diff report checks proxy backends provision net common)
set(layers common net provision backends proxy checks report diff runner watch audit cli)
# Only the command layer parses command lines.
set(cli11_layers cli)

if(NOT SOURCE_DIR)
  message(FATAL_ERROR "check_layers: pass -DSOURCE_DIR=<the source tree>")
endif()

set(violations "")
file(GLOB top RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/*)
foreach(dir ${top})
  if(NOT IS_DIRECTORY ${SOURCE_DIR}/${dir} OR dir MATCHES "^(\\.|build|tests|bench|fuzz|sanitize|cmake|tools|docs|scenarios)")
    continue()
  endif()
  file(GLOB_RECURSE sources RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/${dir}/*.cpp ${SOURCE_DIR}/${dir}/*.hpp)
  if(NOT sources)
    continue()
  endif()
  if(NOT dir IN_LIST layers)
    list(APPEND violations "${dir}/ is not a layer: add it to cmake/check_layers.cmake and to the README's picture")
    continue()
  endif()
  foreach(src ${sources})
    file(STRINGS ${SOURCE_DIR}/${src} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]")
    foreach(line ${includes})
      if(line MATCHES "#[ \t]*include[ \t]*\"([a-z_0-9]+)/")
        set(target ${CMAKE_MATCH_1})
        if(target IN_LIST layers AND NOT target IN_LIST allowed_${dir})
          list(APPEND violations "${src}: ${dir}/ may not include ${target}/ (${line})")
        endif()
      elseif(line MATCHES "#[ \t]*include[ \t]*<CLI/" AND NOT dir IN_LIST cli11_layers)
        list(APPEND violations "${src}: only cli/ parses command lines (${line})")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "includes across the layering:\n  ${text}")
endif()
