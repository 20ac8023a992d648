# The walk that finds reports in files, directories, archives and mail
# (docs/report-ingest.md): content sniffing, gzip with zlib, zip with
# libarchive, messages and mbox with GMime (looked up by CMakeLists.txt),
# message keys with OpenSSL.
pkg_check_modules(LIBARCHIVE REQUIRED IMPORTED_TARGET libarchive)
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
target_sources(mailsec_objects PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/walk.c
  ${CMAKE_CURRENT_LIST_DIR}/sniff.c
  ${CMAKE_CURRENT_LIST_DIR}/inflate.c
  ${CMAKE_CURRENT_LIST_DIR}/archive.c
  ${CMAKE_CURRENT_LIST_DIR}/mime.c
  ${CMAKE_CURRENT_LIST_DIR}/mbox_split.c)
target_link_libraries(mailsec_objects PUBLIC PkgConfig::ZLIB)
mailsec_lazy_library(mailsec_objects ARCHIVE LIBARCHIVE archive)
