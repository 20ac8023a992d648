# mailsec_extension_option(OPTION FOUND DOC MISSING): the option that builds
# one SQL extension (ext/mariadb, ext/postgresql). On by default when what
# the extension is built against was found (FOUND) and the library is
# shared (the module links libmailsec.so); turned on without those, the
# configuration stops and says what is MISSING, or that it needs
# BUILD_SHARED_LIBS. The caller returns when OPTION is off.
function(mailsec_extension_option option found doc missing)
  set(default OFF)
  if(found AND BUILD_SHARED_LIBS)
    set(default ON)
  endif()
  option(${option} "${doc}" ${default})
  if(NOT ${option})
    return()
  endif()
  if(NOT found)
    message(FATAL_ERROR "${option}: ${missing}")
  endif()
  if(NOT BUILD_SHARED_LIBS)
    message(FATAL_ERROR "${option} needs BUILD_SHARED_LIBS=ON")
  endif()
endfunction()
