/* libarchive, loaded on first use (core/lazy.h): the names
 * lib/report/archive.c (zip) uses. Include this instead of the library's
 * header, and call ms_lazy_load(&ms_archive_lib) before the first of them. */
#ifndef MAILSEC_LAZY_ARCHIVE_H
#define MAILSEC_LAZY_ARCHIVE_H

#include <archive.h>
#include <archive_entry.h>

#include "core/lazy.h"

#define MS_ARCHIVE_NAMES(X) \
    X(archive_entry_filetype) \
    X(archive_entry_is_encrypted) \
    X(archive_entry_pathname) \
    X(archive_entry_pathname_utf8) \
    X(archive_error_string) \
    X(archive_filter_bytes) \
    X(archive_read_data) \
    X(archive_read_free) \
    X(archive_read_new) \
    X(archive_read_next_header) \
    X(archive_read_open1) \
    X(archive_read_set_callback_data) \
    X(archive_read_set_read_callback) \
    X(archive_read_set_seek_callback) \
    X(archive_read_set_skip_callback) \
    X(archive_read_support_format_zip) \
    X(archive_set_error)

#define MS_ARCHIVE_INDEX(name) ms_archive_##name,
enum { MS_ARCHIVE_NAMES(MS_ARCHIVE_INDEX) ms_archive_count };

extern ms_lazy_lib ms_archive_lib;
extern void *ms_archive_slots[ms_archive_count];

#define archive_entry_filetype MS_LAZY(ms_archive, archive_entry_filetype)
#define archive_entry_is_encrypted MS_LAZY(ms_archive, archive_entry_is_encrypted)
#define archive_entry_pathname MS_LAZY(ms_archive, archive_entry_pathname)
#define archive_entry_pathname_utf8 MS_LAZY(ms_archive, archive_entry_pathname_utf8)
#define archive_error_string MS_LAZY(ms_archive, archive_error_string)
#define archive_filter_bytes MS_LAZY(ms_archive, archive_filter_bytes)
#define archive_read_data MS_LAZY(ms_archive, archive_read_data)
#define archive_read_free MS_LAZY(ms_archive, archive_read_free)
#define archive_read_new MS_LAZY(ms_archive, archive_read_new)
#define archive_read_next_header MS_LAZY(ms_archive, archive_read_next_header)
#define archive_read_open1 MS_LAZY(ms_archive, archive_read_open1)
#define archive_read_set_callback_data MS_LAZY(ms_archive, archive_read_set_callback_data)
#define archive_read_set_read_callback MS_LAZY(ms_archive, archive_read_set_read_callback)
#define archive_read_set_seek_callback MS_LAZY(ms_archive, archive_read_set_seek_callback)
#define archive_read_set_skip_callback MS_LAZY(ms_archive, archive_read_set_skip_callback)
#define archive_read_support_format_zip MS_LAZY(ms_archive, archive_read_support_format_zip)
#define archive_set_error MS_LAZY(ms_archive, archive_set_error)

#endif
