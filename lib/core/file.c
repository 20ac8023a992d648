/* Replacing files with care: staged with their final owner, group and
 * mode, renamed all together or not at all, backed up by a hard link
 * (file.h says the whole contract). */
#define _GNU_SOURCE /* mkostemp */
#include "core/file.h"
#include "core/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h> /* rename */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STAGING_SUFFIX ".mailsec-new"
#define BACKUP_SUFFIX ".mailsec-bak."

enum {
    MAX_SYMLINKS = 40,        /* as the kernel's own limit (ELOOP) */
    MAX_BACKUP_NUMBER = 99999 /* past it, the admin is asked to clean up */
};

/* ---- names ---- */

/* The directory part of path ("." when it has none); NULL when out of
 * memory. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return ms_strdup(".");
    if (slash == path)
        return ms_strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- following symlinks ---- */

/* The kernel's protected_symlinks rule: in a sticky world-writable
 * directory, a link is followed only when it belongs to the follower or to
 * the directory's owner; anyone can plant a link in /tmp. */
static int may_follow(const char *link, const struct stat *link_sb)
{
    char *dir = dir_of(link);
    struct stat d;
    int known = dir != NULL && stat(dir, &d) == 0;
    free(dir);
    if (!known)
        return 0;
    int shared = (d.st_mode & S_ISVTX) && (d.st_mode & S_IWOTH);
    return !shared || link_sb->st_uid == geteuid() || link_sb->st_uid == d.st_uid;
}

/* Where the link at path points, relative to path's directory. */
static char *link_destination(const char *path, char **cause)
{
    char buf[PATH_MAX];
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n < 0) {
        *cause = ms_asprintf("cannot read the symlink %s: %s", path, strerror(errno));
        return NULL;
    }
    buf[n] = '\0';
    if (buf[0] == '/')
        return ms_strdup(buf);
    char *dir = dir_of(path);
    char *joined = dir ? ms_asprintf("%s/%s", dir, buf) : NULL;
    free(dir);
    return joined;
}

/* Sets c->target to the regular file path names (following symlinks), and
 * *sb to its status when it exists. */
static ms_status resolve(ms_file_change *c, struct stat *sb, char **cause)
{
    char *cur = ms_strdup(c->path);
    for (int hops = 0; cur != NULL; hops++) {
        if (lstat(cur, sb) != 0) {
            int err = errno;
            if (err == ENOENT && hops == 0) { /* a new file */
                c->target = cur;
                c->existed = 0;
                return MS_OK;
            }
            *cause = err == ENOENT ? ms_asprintf("%s is a symlink to %s, which does not exist: give the "
                                                 "path of the file itself", c->path, cur)
                                   : ms_asprintf("cannot read %s: %s", cur, strerror(err));
            free(cur);
            return MS_ERR_IO;
        }
        if (!S_ISLNK(sb->st_mode)) {
            if (!S_ISREG(sb->st_mode)) {
                *cause = ms_asprintf("%s is not a regular file: give the path of a file", cur);
                free(cur);
                return MS_ERR_INVALID;
            }
            c->target = cur;
            c->existed = 1;
            return MS_OK;
        }
        if (hops == MAX_SYMLINKS)
            *cause = ms_asprintf("%s: more than %d symlinks", c->path, MAX_SYMLINKS);
        else if (!may_follow(cur, sb))
            *cause = ms_asprintf("%s is a symlink in a world-writable directory, owned by neither "
                                 "you nor the directory's owner: not followed", cur);
        if (*cause != NULL) {
            free(cur);
            return MS_ERR_INVALID;
        }
        char *next = link_destination(cur, cause);
        free(cur);
        cur = next;
        if (cur == NULL && *cause != NULL)
            return MS_ERR_IO;
    }
    return MS_ERR_NOMEM;
}

/* ---- staging ---- */

/* A staging file of target left by an earlier run: the name of older
 * versions (TARGET.mailsec-new), or TARGET.mailsec-new.PID.XXXXXX whose
 * process is gone. */
static int stale_staging_name(const char *name, const char *base)
{
    size_t n = strlen(base);
    if (strncmp(name, base, n) != 0 || strncmp(name + n, STAGING_SUFFIX, strlen(STAGING_SUFFIX)) != 0)
        return 0;
    const char *rest = name + n + strlen(STAGING_SUFFIX);
    if (*rest == '\0')
        return 1;
    if (*rest != '.')
        return 0;
    char *end;
    errno = 0;
    long pid = strtol(rest + 1, &end, 10);
    if (errno != 0 || end == rest + 1 || *end != '.' || pid <= 0 || pid == (long)getpid())
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Removes the stale staging files next to target that are regular files
 * of ours; a killed run's file must not pile up (it may hold a key). */
static void remove_stale_staging(const char *target)
{
    char *dir_path = dir_of(target);
    DIR *dir = dir_path ? opendir(dir_path) : NULL;
    if (dir == NULL) {
        free(dir_path);
        return; /* staging will fail and say why */
    }
    const char *base = base_of(target);
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (!stale_staging_name(e->d_name, base))
            continue;
        struct stat sb;
        if (fstatat(dirfd(dir), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
            sb.st_uid == geteuid())
            unlinkat(dirfd(dir), e->d_name, 0); /* best effort: a name left is only clutter */
    }
    closedir(dir);
    free(dir_path);
}

/* write(2) until done; 0 or the errno. */
static int write_all(int fd, const char *data, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        done += (size_t)n;
    }
    return 0;
}

/* The mode of the new file: the one it replaces keeps its mode, except
 * that a secret does not inherit access for everyone. */
static mode_t final_mode(const ms_file_opts *o, int existed, const struct stat *sb)
{
    if (!existed)
        return o->new_mode & 07777;
    mode_t old = sb->st_mode & 07777;
    return o->secret && (old & 0007) ? 0600 : old;
}

/* Gives fd the owner, group and mode the new file will have, before its
 * first byte: fchown before fchmod, as chown clears the set-ID bits. 0 or
 * the errno, with *step naming what failed. */
static int set_owner_and_mode(int fd, const ms_file_change *c, const struct stat *sb, mode_t mode,
                              const char **step)
{
    *step = "give the owner and group of the file it replaces to";
    if (c->existed && fchown(fd, sb->st_uid, sb->st_gid) != 0)
        return errno;
    *step = "set the mode of";
    return fchmod(fd, mode) != 0 ? errno : 0;
}

/* Writes and syncs the new content; 0 or the errno, with *step. */
static int write_and_sync(int fd, const char *data, size_t len, const char **step)
{
    *step = "write";
    int err = write_all(fd, data, len);
    if (err)
        return err;
    *step = "sync";
    return fsync(fd) != 0 ? errno : 0;
}

/* Creates c->staged next to the target, O_EXCL with mode 0600, and gives
 * it its final owner, group and mode before writing. */
static ms_status stage_file(ms_file_change *c, const struct stat *sb, mode_t mode, const char *data,
                            size_t len, char **cause)
{
    remove_stale_staging(c->target);
    c->staged = ms_asprintf("%s" STAGING_SUFFIX ".%ld.XXXXXX", c->target, (long)getpid());
    if (c->staged == NULL)
        return MS_ERR_NOMEM;
    int fd = mkostemp(c->staged, O_CLOEXEC);
    if (fd < 0) {
        *cause = ms_asprintf("cannot create a file next to %s: %s", c->target, strerror(errno));
        free(c->staged);
        c->staged = NULL;
        return MS_ERR_IO;
    }
    const char *step;
    int err = set_owner_and_mode(fd, c, sb, mode, &step);
    if (!err)
        err = write_and_sync(fd, data, len, &step);
    if (close(fd) != 0 && !err) {
        err = errno;
        step = "write";
    }
    if (err) {
        *cause = ms_asprintf("cannot %s the new %s: %s", step, c->target, strerror(err));
        unlink(c->staged);
        free(c->staged);
        c->staged = NULL;
        return MS_ERR_IO;
    }
    return MS_OK;
}

/* ---- the transaction ---- */

void ms_file_txn_init(ms_file_txn *t)
{
    memset(t, 0, sizeof *t);
}

/* "CAUSE; PATH: STATE; ..." for every file of the transaction. */
static void fail(ms_file_txn *t, char *cause)
{
    static const char *const words[] = {
        [MS_FILE_STAGED] = "unchanged",
        [MS_FILE_REPLACED] = "replaced",
        [MS_FILE_PUT_BACK] = "put back as it was",
        [MS_FILE_NOT_PUT_BACK] = "REPLACED, and putting it back failed",
    };
    ms_buf b = MS_BUF_INIT;
    ms_buf_puts(&b, cause ? cause : "out of memory");
    for (size_t i = 0; i < t->count; i++) {
        const ms_file_change *c = &t->files[i];
        ms_buf_printf(&b, "; %s: %s", c->path, words[c->state]);
        int changed = c->state == MS_FILE_REPLACED || c->state == MS_FILE_NOT_PUT_BACK;
        if (changed && c->backup != NULL)
            ms_buf_printf(&b, " (the original is %s)", c->backup);
    }
    free(cause);
    free(t->error);
    t->error = ms_buf_take(&b);
}

/* Two names of one file in a transaction would replace it twice. */
static const ms_file_change *same_file(const ms_file_txn *t, const ms_file_change *c)
{
    for (size_t i = 0; i < t->count; i++) {
        const ms_file_change *o = &t->files[i];
        if (o != c && o->existed && c->existed && o->dev == c->dev && o->ino == c->ino)
            return o;
    }
    return NULL;
}

ms_status ms_file_txn_stage(ms_file_txn *t, const char *path, const char *data, size_t len,
                            const ms_file_opts *opts)
{
    if (t->count == MS_FILE_TXN_MAX) {
        fail(t, ms_asprintf("%s: more than %d files at once", path, MS_FILE_TXN_MAX));
        return MS_ERR_LIMIT;
    }
    ms_file_change *c = &t->files[t->count];
    memset(c, 0, sizeof *c);
    c->path = ms_strdup(path);
    if (c->path == NULL) {
        fail(t, NULL);
        return MS_ERR_NOMEM;
    }
    t->count++;
    c->state = MS_FILE_STAGED;
    c->keep_backup = opts->backup;
    char *cause = NULL;
    struct stat sb;
    ms_status st = resolve(c, &sb, &cause);
    if (st == MS_OK && c->existed) {
        c->dev = sb.st_dev;
        c->ino = sb.st_ino;
        const ms_file_change *twin = same_file(t, c);
        if (twin != NULL) {
            cause = ms_asprintf("%s and %s are the same file", twin->path, c->path);
            st = MS_ERR_INVALID;
        }
    }
    if (st == MS_OK)
        st = stage_file(c, &sb, final_mode(opts, c->existed, &sb), data, len, &cause);
    if (st != MS_OK)
        fail(t, cause);
    return st;
}

/* The highest N of TARGET.mailsec-bak.N there (0 when none). */
static unsigned long highest_backup(const char *target)
{
    char *dir_path = dir_of(target);
    DIR *dir = dir_path ? opendir(dir_path) : NULL;
    free(dir_path);
    if (dir == NULL)
        return 0; /* link() will fail and say why */
    const char *base = base_of(target);
    size_t base_len = strlen(base), suffix_len = strlen(BACKUP_SUFFIX);
    unsigned long highest = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        const char *name = e->d_name;
        if (strncmp(name, base, base_len) != 0 || strncmp(name + base_len, BACKUP_SUFFIX, suffix_len) != 0)
            continue;
        const char *digits = name + base_len + suffix_len;
        char *end;
        unsigned long n = strtoul(digits, &end, 10);
        if (end != digits && *end == '\0' && *digits != '-' && *digits != '+' && n > highest)
            highest = n;
    }
    closedir(dir);
    return highest;
}

/* Hard-links the target to TARGET.mailsec-bak.N. */
static ms_status make_backup(ms_file_change *c, char **cause)
{
    for (unsigned long n = highest_backup(c->target) + 1;; n++) {
        if (n > MAX_BACKUP_NUMBER) {
            *cause = ms_asprintf("%s has %d backups (%s" BACKUP_SUFFIX "N): remove old ones", c->target,
                                 MAX_BACKUP_NUMBER, c->target);
            return MS_ERR_LIMIT;
        }
        c->backup = ms_asprintf("%s" BACKUP_SUFFIX "%lu", c->target, n);
        if (c->backup == NULL)
            return MS_ERR_NOMEM;
        if (link(c->target, c->backup) == 0)
            return MS_OK;
        int err = errno;
        if (err != EEXIST) /* else another run took this number */
            *cause = ms_asprintf("cannot keep a backup of %s as %s: %s", c->target, c->backup, strerror(err));
        free(c->backup);
        c->backup = NULL;
        if (err != EEXIST)
            return MS_ERR_IO;
    }
}

/* Puts the replaced files back: the backup renamed over the target, or a
 * file that did not exist before removed. A backup made for a file not
 * replaced is removed: nothing changed. */
static void roll_back(ms_file_txn *t)
{
    for (size_t i = 0; i < t->count; i++) {
        ms_file_change *c = &t->files[i];
        if (c->state != MS_FILE_REPLACED) {
            if (c->backup != NULL && unlink(c->backup) == 0) {
                free(c->backup);
                c->backup = NULL;
            }
            continue;
        }
        int back = c->existed ? rename(c->backup, c->target) == 0 : unlink(c->target) == 0;
        c->state = back ? MS_FILE_PUT_BACK : MS_FILE_NOT_PUT_BACK;
        if (back) {
            free(c->backup);
            c->backup = NULL;
        }
    }
}

/* fsync of the directories, so the renames are on disk: 0, or an errno
 * value (ENOMEM when the directory's name could not be made). */
static int sync_directory_of(const char *target)
{
    char *dir = dir_of(target);
    if (dir == NULL)
        return ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return errno;
    int err = fsync(fd) != 0 ? errno : 0;
    close(fd);
    return err;
}

ms_status ms_file_txn_commit(ms_file_txn *t)
{
    int several = t->count > 1;
    for (size_t i = 0; i < t->count; i++) {
        if (t->files[i].staged == NULL) { /* its staging failed: nothing may be renamed */
            fail(t, ms_asprintf("%s was not staged", t->files[i].path));
            return MS_ERR_INVALID;
        }
    }
    for (size_t i = 0; i < t->count; i++) {
        ms_file_change *c = &t->files[i];
        char *cause = NULL;
        ms_status st = MS_OK;
        if (c->existed && (c->keep_backup || several))
            st = make_backup(c, &cause);
        if (st == MS_OK && rename(c->staged, c->target) != 0) {
            cause = ms_asprintf("cannot rename %s over %s: %s", c->staged, c->target, strerror(errno));
            st = MS_ERR_IO;
        }
        if (st != MS_OK) {
            roll_back(t);
            fail(t, cause);
            return st;
        }
        free(c->staged);
        c->staged = NULL;
        c->state = MS_FILE_REPLACED;
    }
    for (size_t i = 0; i < t->count; i++) {
        int err = sync_directory_of(t->files[i].target);
        if (err) {
            fail(t, ms_asprintf("the files were replaced, but syncing the directory of %s failed: %s",
                                t->files[i].target, strerror(err)));
            return err == ENOMEM ? MS_ERR_NOMEM : MS_ERR_IO;
        }
    }
    return MS_OK;
}

void ms_file_txn_free(ms_file_txn *t)
{
    for (size_t i = 0; i < t->count; i++) {
        ms_file_change *c = &t->files[i];
        if (c->staged != NULL)
            unlink(c->staged);
        free(c->path);
        free(c->target);
        free(c->staged);
        free(c->backup);
    }
    free(t->error);
    memset(t, 0, sizeof *t);
}

ms_status ms_file_replace(const char *path, const char *data, size_t len, const ms_file_opts *opts,
                          char **error)
{
    ms_file_txn t;
    ms_file_txn_init(&t);
    ms_status st = ms_file_txn_stage(&t, path, data, len, opts);
    if (st == MS_OK)
        st = ms_file_txn_commit(&t);
    *error = t.error;
    t.error = NULL;
    ms_file_txn_free(&t);
    return st;
}
