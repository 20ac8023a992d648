/* libmicrohttpd, loaded when `mailsec serve` starts (lib/core/lazy.h): the
 * names src/serve.c uses. Include this instead of the library's header, and
 * call ms_lazy_load(&ms_mhd_lib) before the first of them. */
#ifndef MAILSEC_LAZY_MHD_H
#define MAILSEC_LAZY_MHD_H

#include <microhttpd.h>

#include "core/lazy.h"

#define MS_MHD_NAMES(X) \
    X(MHD_add_response_header) \
    X(MHD_basic_auth_get_username_password) \
    X(MHD_create_response_from_buffer) \
    X(MHD_destroy_response) \
    X(MHD_free) \
    X(MHD_get_connection_info) \
    X(MHD_is_feature_supported) \
    X(MHD_lookup_connection_value) \
    X(MHD_queue_response) \
    X(MHD_start_daemon) \
    X(MHD_stop_daemon)

#define MS_MHD_INDEX(name) ms_mhd_##name,
enum { MS_MHD_NAMES(MS_MHD_INDEX) ms_mhd_count };

extern ms_lazy_lib ms_mhd_lib;
extern void *ms_mhd_slots[ms_mhd_count];

#define MHD_add_response_header MS_LAZY(ms_mhd, MHD_add_response_header)
#define MHD_basic_auth_get_username_password MS_LAZY(ms_mhd, MHD_basic_auth_get_username_password)
#define MHD_create_response_from_buffer MS_LAZY(ms_mhd, MHD_create_response_from_buffer)
#define MHD_destroy_response MS_LAZY(ms_mhd, MHD_destroy_response)
#define MHD_free MS_LAZY(ms_mhd, MHD_free)
#define MHD_get_connection_info MS_LAZY(ms_mhd, MHD_get_connection_info)
#define MHD_is_feature_supported MS_LAZY(ms_mhd, MHD_is_feature_supported)
#define MHD_lookup_connection_value MS_LAZY(ms_mhd, MHD_lookup_connection_value)
#define MHD_queue_response MS_LAZY(ms_mhd, MHD_queue_response)
#define MHD_start_daemon MS_LAZY(ms_mhd, MHD_start_daemon)
#define MHD_stop_daemon MS_LAZY(ms_mhd, MHD_stop_daemon)

#endif
