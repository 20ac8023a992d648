/* libarchive, loaded on first use (core/lazy.h): the names
 * lib/report/archive.c (zip) and lib/roundcube/backup.c (tar) use. Include this instead of the library's
 * header, and call ms_lazy_load(&ms_archive_lib) before the first of them. */
#ifndef MAILSEC_LAZY_ARCHIVE_H
#define MAILSEC_LAZY_ARCHIVE_H

#include <archive.h>
#include <archive_entry.h>

#include "core/lazy.h"

#define MS_ARCHIVE_NAMES(X) \
    X(archive_entry_copy_pathname) \
    X(archive_entry_filetype) \
    X(archive_entry_free) \
    X(archive_entry_hardlink) \
    X(archive_entry_is_encrypted) \
    X(archive_entry_new) \
    X(archive_entry_pathname) \
    X(archive_entry_pathname_utf8) \
    X(archive_entry_size) \
    X(archive_entry_sourcepath) \
    X(archive_error_string) \
    X(archive_filter_bytes) \
    X(archive_read_data) \
    X(archive_read_data_block) \
    X(archive_read_disk_descend) \
    X(archive_read_disk_new) \
    X(archive_read_disk_open) \
    X(archive_read_disk_set_standard_lookup) \
    X(archive_read_disk_set_symlink_physical) \
    X(archive_read_free) \
    X(archive_read_new) \
    X(archive_read_next_header) \
    X(archive_read_next_header2) \
    X(archive_read_open1) \
    X(archive_read_open_filename) \
    X(archive_read_set_callback_data) \
    X(archive_read_set_read_callback) \
    X(archive_read_set_seek_callback) \
    X(archive_read_set_skip_callback) \
    X(archive_read_support_filter_all) \
    X(archive_read_support_format_tar) \
    X(archive_read_support_format_zip) \
    X(archive_set_error) \
    X(archive_write_close) \
    X(archive_write_data) \
    X(archive_write_data_block) \
    X(archive_write_disk_new) \
    X(archive_write_disk_set_options) \
    X(archive_write_disk_set_standard_lookup) \
    X(archive_write_finish_entry) \
    X(archive_write_free) \
    X(archive_write_header) \
    X(archive_write_new) \
    X(archive_write_open_fd) \
    X(archive_write_set_format_pax)


#define MS_ARCHIVE_INDEX(name) ms_archive_##name,
enum { MS_ARCHIVE_NAMES(MS_ARCHIVE_INDEX) ms_archive_count };

extern ms_lazy_lib ms_archive_lib;
extern void *ms_archive_slots[ms_archive_count];

#define archive_entry_copy_pathname MS_LAZY(ms_archive, archive_entry_copy_pathname)
#define archive_entry_filetype MS_LAZY(ms_archive, archive_entry_filetype)
#define archive_entry_free MS_LAZY(ms_archive, archive_entry_free)
#define archive_entry_hardlink MS_LAZY(ms_archive, archive_entry_hardlink)
#define archive_entry_is_encrypted MS_LAZY(ms_archive, archive_entry_is_encrypted)
#define archive_entry_new MS_LAZY(ms_archive, archive_entry_new)
#define archive_entry_pathname MS_LAZY(ms_archive, archive_entry_pathname)
#define archive_entry_pathname_utf8 MS_LAZY(ms_archive, archive_entry_pathname_utf8)
#define archive_entry_size MS_LAZY(ms_archive, archive_entry_size)
#define archive_entry_sourcepath MS_LAZY(ms_archive, archive_entry_sourcepath)
#define archive_error_string MS_LAZY(ms_archive, archive_error_string)
#define archive_filter_bytes MS_LAZY(ms_archive, archive_filter_bytes)
#define archive_read_data MS_LAZY(ms_archive, archive_read_data)
#define archive_read_data_block MS_LAZY(ms_archive, archive_read_data_block)
#define archive_read_disk_descend MS_LAZY(ms_archive, archive_read_disk_descend)
#define archive_read_disk_new MS_LAZY(ms_archive, archive_read_disk_new)
#define archive_read_disk_open MS_LAZY(ms_archive, archive_read_disk_open)
#define archive_read_disk_set_standard_lookup MS_LAZY(ms_archive, archive_read_disk_set_standard_lookup)
#define archive_read_disk_set_symlink_physical MS_LAZY(ms_archive, archive_read_disk_set_symlink_physical)
#define archive_read_free MS_LAZY(ms_archive, archive_read_free)
#define archive_read_new MS_LAZY(ms_archive, archive_read_new)
#define archive_read_next_header MS_LAZY(ms_archive, archive_read_next_header)
#define archive_read_next_header2 MS_LAZY(ms_archive, archive_read_next_header2)
#define archive_read_open1 MS_LAZY(ms_archive, archive_read_open1)
#define archive_read_open_filename MS_LAZY(ms_archive, archive_read_open_filename)
#define archive_read_set_callback_data MS_LAZY(ms_archive, archive_read_set_callback_data)
#define archive_read_set_read_callback MS_LAZY(ms_archive, archive_read_set_read_callback)
#define archive_read_set_seek_callback MS_LAZY(ms_archive, archive_read_set_seek_callback)
#define archive_read_set_skip_callback MS_LAZY(ms_archive, archive_read_set_skip_callback)
#define archive_read_support_filter_all MS_LAZY(ms_archive, archive_read_support_filter_all)
#define archive_read_support_format_tar MS_LAZY(ms_archive, archive_read_support_format_tar)
#define archive_read_support_format_zip MS_LAZY(ms_archive, archive_read_support_format_zip)
#define archive_set_error MS_LAZY(ms_archive, archive_set_error)
#define archive_write_close MS_LAZY(ms_archive, archive_write_close)
#define archive_write_data MS_LAZY(ms_archive, archive_write_data)
#define archive_write_data_block MS_LAZY(ms_archive, archive_write_data_block)
#define archive_write_disk_new MS_LAZY(ms_archive, archive_write_disk_new)
#define archive_write_disk_set_options MS_LAZY(ms_archive, archive_write_disk_set_options)
#define archive_write_disk_set_standard_lookup MS_LAZY(ms_archive, archive_write_disk_set_standard_lookup)
#define archive_write_finish_entry MS_LAZY(ms_archive, archive_write_finish_entry)
#define archive_write_free MS_LAZY(ms_archive, archive_write_free)
#define archive_write_header MS_LAZY(ms_archive, archive_write_header)
#define archive_write_new MS_LAZY(ms_archive, archive_write_new)
#define archive_write_open_fd MS_LAZY(ms_archive, archive_write_open_fd)
#define archive_write_set_format_pax MS_LAZY(ms_archive, archive_write_set_format_pax)

#endif
