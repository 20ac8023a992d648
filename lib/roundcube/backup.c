/* Archives for the upgrade (libarchive): the installation's backup, made
 * and unpacked again; a release tarball unpacked with care; the journal
 * of the steps and the kill points of the tests. */
#define _GNU_SOURCE
#include "roundcube/upgrade.h"

#include "core/lazy_archive.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

enum { ARCHIVE_BLOCK = 64 * 1024 };

static ms_status archive_fail(struct archive *a, const char *what, char **error)
{
    *error = ms_asprintf("%s: %s", what, archive_error_string(a) ? archive_error_string(a) : "failed");
    return MS_ERR_IO;
}

/* ---- the installation's backup ---- */

/* The data of one regular file into the archive. */
static ms_status archive_file_data(struct archive *out, const char *src, const char *archive,
                                   char **error)
{
    int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        *error = ms_asprintf("%s: %s", src, strerror(errno));
        return MS_ERR_IO;
    }
    ms_status st = MS_OK;
    char *chunk = malloc(ARCHIVE_BLOCK);
    ssize_t n = 0;
    if (!chunk)
        st = MS_ERR_NOMEM;
    while (st == MS_OK && (n = read(fd, chunk, ARCHIVE_BLOCK)) > 0)
        if (archive_write_data(out, chunk, (size_t)n) != n)
            st = archive_fail(out, archive, error);
    if (st == MS_OK && n < 0) {
        *error = ms_asprintf("%s: %s", src, strerror(errno));
        st = MS_ERR_IO;
    }
    free(chunk);
    close(fd);
    return st;
}

/* Every entry under root, named "./REL" ("." for root itself). */
static ms_status archive_entries(struct archive *disk, struct archive *out, const char *root,
                                 const char *archive, char **error)
{
    size_t root_len = strlen(root);
    ms_status st = MS_OK;
    while (st == MS_OK) {
        struct archive_entry *e = archive_entry_new();
        if (!e)
            return MS_ERR_NOMEM;
        int r = archive_read_next_header2(disk, e);
        if (r == ARCHIVE_EOF) {
            archive_entry_free(e);
            break;
        }
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            archive_entry_free(e);
            return archive_fail(disk, root, error);
        }
        archive_read_disk_descend(disk);
        const char *rel = archive_entry_pathname(e) + root_len;
        while (*rel == '/')
            rel++;
        char *stored = ms_asprintf("./%s", rel);
        if (!stored)
            st = MS_ERR_NOMEM;
        else {
            archive_entry_copy_pathname(e, stored);
            free(stored);
            if (archive_write_header(out, e) != ARCHIVE_OK)
                st = archive_fail(out, archive, error);
        }
        if (st == MS_OK && archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0)
            st = archive_file_data(out, archive_entry_sourcepath(e), archive, error);
        archive_entry_free(e);
    }
    return st;
}

/* libarchive is loaded on first use (core/lazy.h). */
static ms_status load_libarchive(char **error)
{
    if (ms_lazy_load(&ms_archive_lib) == MS_OK)
        return MS_OK;
    *error = ms_asprintf("%s", ms_lazy_error(&ms_archive_lib));
    return MS_ERR_IO;
}

ms_status rc_archive_tree(const char *root, const char *archive, char **error)
{
    if (load_libarchive(error) != MS_OK)
        return MS_ERR_IO;
    int fd = open(archive, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        *error = ms_asprintf("%s: %s", archive, strerror(errno));
        return MS_ERR_IO;
    }
    struct archive *disk = archive_read_disk_new(), *out = archive_write_new();
    ms_status st = MS_OK;
    if (!disk || !out)
        st = MS_ERR_NOMEM;
    else {
        /* pax (not pax_restricted) keeps times to the nanosecond, long
         * names, large files, owners */
        archive_write_set_format_pax(out);
        archive_read_disk_set_symlink_physical(disk);
        archive_read_disk_set_standard_lookup(disk);
        if (archive_write_open_fd(out, fd) != ARCHIVE_OK)
            st = archive_fail(out, archive, error);
        else if (archive_read_disk_open(disk, root) != ARCHIVE_OK)
            st = archive_fail(disk, root, error);
        if (st == MS_OK)
            st = archive_entries(disk, out, root, archive, error);
        if (archive_write_close(out) != ARCHIVE_OK && st == MS_OK)
            st = archive_fail(out, archive, error);
    }
    archive_read_free(disk);
    archive_write_free(out);
    if (st == MS_OK && fsync(fd) != 0) {
        *error = ms_asprintf("%s: %s", archive, strerror(errno));
        st = MS_ERR_IO;
    }
    if (close(fd) != 0 && st == MS_OK) {
        *error = ms_asprintf("%s: %s", archive, strerror(errno));
        st = MS_ERR_IO;
    }
    return st;
}

/* ---- unpacking ---- */

typedef struct unpack_rules {
    int trusted;        /* our own backup: owners restored, no bounds */
    const char *source; /* for messages */
} unpack_rules;

/* A name that stays inside the folder it is unpacked into. */
static int name_is_inside(const char *name)
{
    if (name[0] == '/')
        return 0;
    for (const char *p = name; *p;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return 0;
        p += len + (end != NULL);
    }
    return 1;
}

/* dest/NAME for an entry's name ("./x", "x", "." or "./"). */
static char *unpacked_name(const char *dest, const char *name)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    if (!strcmp(name, ".") || !name[0])
        return ms_strdup(dest);
    return ms_asprintf("%s/%s", dest, name);
}

static ms_status unpack_entry(struct archive *in, struct archive *disk, struct archive_entry *e,
                              const char *dest, const unpack_rules *rules, char **error)
{
    const char *name = archive_entry_pathname(e);
    mode_t type = archive_entry_filetype(e);
    if (!name || !name_is_inside(name)) {
        *error = ms_asprintf("%s: the entry \"%s\" would leave the folder", rules->source, name ? name : "");
        return MS_ERR_INVALID;
    }
    /* devices, FIFOs, hard links (whose target libarchive would take
     * relative to the working directory, outside dest): no part of a
     * release or of our backup, left out */
    if ((type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) || archive_entry_hardlink(e))
        return MS_OK;
    char *path = unpacked_name(dest, name);
    if (!path)
        return MS_ERR_NOMEM;
    archive_entry_copy_pathname(e, path);
    free(path);
    ms_status st = MS_OK;
    if (archive_write_header(disk, e) != ARCHIVE_OK)
        return archive_fail(disk, rules->source, error);
    const void *block;
    size_t size;
    la_int64_t offset;
    int r;
    while ((r = archive_read_data_block(in, &block, &size, &offset)) == ARCHIVE_OK)
        if (archive_write_data_block(disk, block, size, offset) != ARCHIVE_OK)
            return archive_fail(disk, rules->source, error);
    if (r != ARCHIVE_EOF)
        return archive_fail(in, rules->source, error);
    if (archive_write_finish_entry(disk) != ARCHIVE_OK)
        st = archive_fail(disk, rules->source, error);
    return st;
}

static ms_status unpack(const char *archive, const char *dest, const unpack_rules *rules, char **error)
{
    if (load_libarchive(error) != MS_OK)
        return MS_ERR_IO;
    struct archive *in = archive_read_new(), *disk = archive_write_disk_new();
    if (!in || !disk) {
        archive_read_free(in);
        archive_write_free(disk);
        return MS_ERR_NOMEM;
    }
    archive_read_support_filter_all(in);
    archive_read_support_format_tar(in);
    int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                ARCHIVE_EXTRACT_SECURE_NODOTDOT;
    if (rules->trusted && geteuid() == 0)
        flags |= ARCHIVE_EXTRACT_OWNER;
    archive_write_disk_set_options(disk, flags);
    archive_write_disk_set_standard_lookup(disk);
    ms_status st = MS_OK;
    if (archive_read_open_filename(in, archive, ARCHIVE_BLOCK) != ARCHIVE_OK)
        st = archive_fail(in, archive, error);
    size_t entries = 0;
    long long bytes = 0;
    struct archive_entry *e;
    while (st == MS_OK) {
        int r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK) {
            st = archive_fail(in, archive, error);
            break;
        }
        bytes += archive_entry_size(e) > 0 ? archive_entry_size(e) : 0;
        if (!rules->trusted && (++entries > MS_RC_MAX_TREE_ENTRIES || bytes > MS_RC_MAX_RELEASE_BYTES)) {
            *error = ms_asprintf("%s: more than %d entries or %d bytes unpacked", archive,
                                 MS_RC_MAX_TREE_ENTRIES, MS_RC_MAX_RELEASE_BYTES);
            st = MS_ERR_LIMIT;
            break;
        }
        st = unpack_entry(in, disk, e, dest, rules, error);
    }
    if (archive_write_close(disk) != ARCHIVE_OK && st == MS_OK)
        st = archive_fail(disk, dest, error);
    archive_read_free(in);
    archive_write_free(disk);
    return st;
}

ms_status rc_unpack_backup(const char *archive, const char *dest, char **error)
{
    unpack_rules rules = {1, archive};
    ms_status st = unpack(archive, dest, &rules, error);
    if (st == MS_OK)
        st = rc_sync_tree(dest, error);
    return st;
}

/* The one folder a release tarball holds (roundcubemail-1.6.18/), else dest. */
static ms_status release_root(const char *dest, char **root)
{
    DIR *d = opendir(dest);
    if (!d)
        return MS_ERR_IO;
    char *only = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && n++ == 0)
            only = ms_strdup(de->d_name);
    closedir(d);
    char *single = n == 1 && only ? rc_path(dest, only) : NULL;
    free(only);
    *root = single && rc_is_dir(single) ? single : (free(single), ms_strdup(dest));
    return *root ? MS_OK : MS_ERR_NOMEM;
}

ms_status rc_unpack_release(const char *tarball, const char *dest, char **root, char **error)
{
    unpack_rules rules = {0, tarball};
    ms_status st = unpack(tarball, dest, &rules, error);
    if (st == MS_OK && release_root(dest, root) != MS_OK) {
        *error = ms_asprintf("%s: %s", dest, strerror(errno));
        st = MS_ERR_IO;
    }
    return st;
}

/* ---- steps ---- */

void rc_test_kill_point(const char *step)
{
    const char *at = getenv("MAILSEC_TEST_KILL_AT");
    if (at && !strcmp(at, step))
        raise(SIGKILL);
}

ms_status rc_journal(const char *backup_dir, const char *line, char **error)
{
    char *path = rc_path(backup_dir, "journal");
    if (!path)
        return MS_ERR_NOMEM;
    ms_status st = MS_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    size_t len = strlen(line);
    if (fd < 0 || write(fd, line, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
        *error = ms_asprintf("%s: %s", path, strerror(errno));
        st = MS_ERR_IO;
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return st;
}
