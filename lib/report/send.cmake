# `report send` (docs/report.md): the RFC 9990 aggregate report writer
# (zlib), the report mail and its hand-over (sendmail, or SMTP through the
# lazily loaded libcurl), and the walk over the recorded evaluations.
target_sources(mailsec_objects PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/send_build.c
  ${CMAKE_CURRENT_LIST_DIR}/send_mail.c
  ${CMAKE_CURRENT_LIST_DIR}/failure_build.c
  ${CMAKE_CURRENT_LIST_DIR}/send.c)
