# The report parsers: aggregate XML (expat, streaming), TLS-RPT JSON
# (jansson) and failure reports (GMime), with what they share (common.c).
# The walk fragment may look up the same packages: once is enough.
if(NOT TARGET PkgConfig::EXPAT)
  pkg_check_modules(EXPAT REQUIRED IMPORTED_TARGET expat)
endif()
if(NOT TARGET PkgConfig::GMIME)
  pkg_check_modules(GMIME REQUIRED IMPORTED_TARGET gmime-3.0)
endif()
target_sources(mailsec_objects PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/common.c
  ${CMAKE_CURRENT_LIST_DIR}/aggregate.c
  ${CMAKE_CURRENT_LIST_DIR}/xml_input.c
  ${CMAKE_CURRENT_LIST_DIR}/tlsrpt.c
  ${CMAKE_CURRENT_LIST_DIR}/failure.c)
target_link_libraries(mailsec_objects PUBLIC PkgConfig::EXPAT PkgConfig::JANSSON)
mailsec_lazy_library(mailsec_objects GMIME GMIME gmime-3.0)
# The aggregate parser is the hot path of large reports.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/aggregate.c ${CMAKE_CURRENT_LIST_DIR}/xml_input.c
  ${CMAKE_CURRENT_LIST_DIR}/common.c
  PROPERTIES COMPILE_OPTIONS "$<$<CONFIG:Release,RelWithDebInfo>:-O3>")
