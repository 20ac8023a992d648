/* GMime, with the GLib and GObject it loads, loaded on first use
 * (core/lazy.h): the names lib/report/mime.c, failure.c and common.c use.
 * Include this instead of the library's header, and call
 * ms_lazy_load(&ms_gmime_lib) before the first of them. */
#ifndef MAILSEC_LAZY_GMIME_H
#define MAILSEC_LAZY_GMIME_H

#include <gmime/gmime.h>

#include "core/lazy.h"

#define MS_GMIME_NAMES(X) \
    X(g_ascii_strcasecmp) \
    X(g_byte_array_append) \
    X(g_byte_array_free) \
    X(g_byte_array_new) \
    X(g_date_time_to_unix) \
    X(g_date_time_unref) \
    X(g_free) \
    X(g_mime_content_type_get_mime_type) \
    X(g_mime_content_type_is_type) \
    X(g_mime_data_wrapper_get_encoding) \
    X(g_mime_data_wrapper_get_stream) \
    X(g_mime_data_wrapper_write_to_stream) \
    X(g_mime_filter_basic_new) \
    X(g_mime_init) \
    X(g_mime_message_get_message_id) \
    X(g_mime_message_get_mime_part) \
    X(g_mime_message_part_get_message) \
    X(g_mime_message_part_get_type) \
    X(g_mime_multipart_foreach) \
    X(g_mime_multipart_get_count) \
    X(g_mime_multipart_get_part) \
    X(g_mime_multipart_get_type) \
    X(g_mime_object_get_content_type) \
    X(g_mime_object_get_content_type_parameter) \
    X(g_mime_object_get_header) \
    X(g_mime_object_get_headers) \
    X(g_mime_object_get_type) \
    X(g_mime_object_write_to_stream) \
    X(g_mime_parser_construct_message) \
    X(g_mime_parser_eos) \
    X(g_mime_parser_get_headers_begin) \
    X(g_mime_parser_get_mbox_marker_offset) \
    X(g_mime_parser_new_with_stream) \
    X(g_mime_parser_set_format) \
    X(g_mime_parser_set_persist_stream) \
    X(g_mime_parser_tell) \
    X(g_mime_part_get_content) \
    X(g_mime_part_get_filename) \
    X(g_mime_part_get_type) \
    X(g_mime_stream_eos) \
    X(g_mime_stream_filter_add) \
    X(g_mime_stream_filter_new) \
    X(g_mime_stream_flush) \
    X(g_mime_stream_fs_new) \
    X(g_mime_stream_fs_set_owner) \
    X(g_mime_stream_mem_get_byte_array) \
    X(g_mime_stream_mem_get_type) \
    X(g_mime_stream_mem_new) \
    X(g_mime_stream_mem_new_with_buffer) \
    X(g_mime_stream_read) \
    X(g_mime_stream_substream) \
    X(g_mime_stream_write_string) \
    X(g_mime_utils_header_decode_date) \
    X(g_mime_utils_header_decode_text) \
    X(g_object_unref) \
    X(g_type_check_instance_cast) \
    X(g_type_check_instance_is_a)

#define MS_GMIME_INDEX(name) ms_gmime_##name,
enum { MS_GMIME_NAMES(MS_GMIME_INDEX) ms_gmime_count };

extern ms_lazy_lib ms_gmime_lib;
extern void *ms_gmime_slots[ms_gmime_count];

#define g_ascii_strcasecmp MS_LAZY(ms_gmime, g_ascii_strcasecmp)
#define g_byte_array_append MS_LAZY(ms_gmime, g_byte_array_append)
#define g_byte_array_free MS_LAZY(ms_gmime, g_byte_array_free)
#define g_byte_array_new MS_LAZY(ms_gmime, g_byte_array_new)
#define g_date_time_to_unix MS_LAZY(ms_gmime, g_date_time_to_unix)
#define g_date_time_unref MS_LAZY(ms_gmime, g_date_time_unref)
#define g_free MS_LAZY(ms_gmime, g_free)
#define g_mime_content_type_get_mime_type MS_LAZY(ms_gmime, g_mime_content_type_get_mime_type)
#define g_mime_content_type_is_type MS_LAZY(ms_gmime, g_mime_content_type_is_type)
#define g_mime_data_wrapper_get_encoding MS_LAZY(ms_gmime, g_mime_data_wrapper_get_encoding)
#define g_mime_data_wrapper_get_stream MS_LAZY(ms_gmime, g_mime_data_wrapper_get_stream)
#define g_mime_data_wrapper_write_to_stream MS_LAZY(ms_gmime, g_mime_data_wrapper_write_to_stream)
#define g_mime_filter_basic_new MS_LAZY(ms_gmime, g_mime_filter_basic_new)
#define g_mime_init MS_LAZY(ms_gmime, g_mime_init)
#define g_mime_message_get_message_id MS_LAZY(ms_gmime, g_mime_message_get_message_id)
#define g_mime_message_get_mime_part MS_LAZY(ms_gmime, g_mime_message_get_mime_part)
#define g_mime_message_part_get_message MS_LAZY(ms_gmime, g_mime_message_part_get_message)
#define g_mime_message_part_get_type MS_LAZY(ms_gmime, g_mime_message_part_get_type)
#define g_mime_multipart_foreach MS_LAZY(ms_gmime, g_mime_multipart_foreach)
#define g_mime_multipart_get_count MS_LAZY(ms_gmime, g_mime_multipart_get_count)
#define g_mime_multipart_get_part MS_LAZY(ms_gmime, g_mime_multipart_get_part)
#define g_mime_multipart_get_type MS_LAZY(ms_gmime, g_mime_multipart_get_type)
#define g_mime_object_get_content_type MS_LAZY(ms_gmime, g_mime_object_get_content_type)
#define g_mime_object_get_content_type_parameter MS_LAZY(ms_gmime, g_mime_object_get_content_type_parameter)
#define g_mime_object_get_header MS_LAZY(ms_gmime, g_mime_object_get_header)
#define g_mime_object_get_headers MS_LAZY(ms_gmime, g_mime_object_get_headers)
#define g_mime_object_get_type MS_LAZY(ms_gmime, g_mime_object_get_type)
#define g_mime_object_write_to_stream MS_LAZY(ms_gmime, g_mime_object_write_to_stream)
#define g_mime_parser_construct_message MS_LAZY(ms_gmime, g_mime_parser_construct_message)
#define g_mime_parser_eos MS_LAZY(ms_gmime, g_mime_parser_eos)
#define g_mime_parser_get_headers_begin MS_LAZY(ms_gmime, g_mime_parser_get_headers_begin)
#define g_mime_parser_get_mbox_marker_offset MS_LAZY(ms_gmime, g_mime_parser_get_mbox_marker_offset)
#define g_mime_parser_new_with_stream MS_LAZY(ms_gmime, g_mime_parser_new_with_stream)
#define g_mime_parser_set_format MS_LAZY(ms_gmime, g_mime_parser_set_format)
#define g_mime_parser_set_persist_stream MS_LAZY(ms_gmime, g_mime_parser_set_persist_stream)
#define g_mime_parser_tell MS_LAZY(ms_gmime, g_mime_parser_tell)
#define g_mime_part_get_content MS_LAZY(ms_gmime, g_mime_part_get_content)
#define g_mime_part_get_filename MS_LAZY(ms_gmime, g_mime_part_get_filename)
#define g_mime_part_get_type MS_LAZY(ms_gmime, g_mime_part_get_type)
#define g_mime_stream_eos MS_LAZY(ms_gmime, g_mime_stream_eos)
#define g_mime_stream_filter_add MS_LAZY(ms_gmime, g_mime_stream_filter_add)
#define g_mime_stream_filter_new MS_LAZY(ms_gmime, g_mime_stream_filter_new)
#define g_mime_stream_flush MS_LAZY(ms_gmime, g_mime_stream_flush)
#define g_mime_stream_fs_new MS_LAZY(ms_gmime, g_mime_stream_fs_new)
#define g_mime_stream_fs_set_owner MS_LAZY(ms_gmime, g_mime_stream_fs_set_owner)
#define g_mime_stream_mem_get_byte_array MS_LAZY(ms_gmime, g_mime_stream_mem_get_byte_array)
#define g_mime_stream_mem_get_type MS_LAZY(ms_gmime, g_mime_stream_mem_get_type)
#define g_mime_stream_mem_new MS_LAZY(ms_gmime, g_mime_stream_mem_new)
#define g_mime_stream_mem_new_with_buffer MS_LAZY(ms_gmime, g_mime_stream_mem_new_with_buffer)
#define g_mime_stream_read MS_LAZY(ms_gmime, g_mime_stream_read)
#define g_mime_stream_substream MS_LAZY(ms_gmime, g_mime_stream_substream)
#define g_mime_stream_write_string MS_LAZY(ms_gmime, g_mime_stream_write_string)
#define g_mime_utils_header_decode_date MS_LAZY(ms_gmime, g_mime_utils_header_decode_date)
#define g_mime_utils_header_decode_text MS_LAZY(ms_gmime, g_mime_utils_header_decode_text)
#define g_object_unref MS_LAZY(ms_gmime, g_object_unref)
#define g_type_check_instance_cast MS_LAZY(ms_gmime, g_type_check_instance_cast)
#define g_type_check_instance_is_a MS_LAZY(ms_gmime, g_type_check_instance_is_a)

#endif
