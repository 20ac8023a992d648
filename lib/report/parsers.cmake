# The report parsers: aggregate XML (expat, streaming), TLS-RPT JSON
# (jansson) and failure reports (GMime, looked up by CMakeLists.txt), with
# what they share (common.c).
pkg_check_modules(EXPAT REQUIRED IMPORTED_TARGET expat)
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
