/* Trees of files for the upgrade: listing one, comparing two entries,
 * building the new installation beside the old one, removing one. */
#define _GNU_SOURCE
#include "core/grow.h"
#include "roundcube/upgrade.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { TREE_MAX_DEPTH = 64, COPY_CHUNK = 64 * 1024 };

static char *join(const char *root, const char *rel)
{
    return rel[0] ? ms_asprintf("%s/%s", root, rel) : ms_strdup(root);
}

ms_status rc_tree_add(rc_tree *t, const rc_entry *e)
{
    if (t->count >= MS_RC_MAX_TREE_ENTRIES)
        return MS_ERR_LIMIT;
    rc_entry *items = ms_grow(t->items, t->count, &t->cap, sizeof *items, 256);
    if (!items)
        return MS_ERR_NOMEM;
    t->items = items;
    rc_entry copy = *e;
    copy.path = ms_strdup(e->path);
    if (!copy.path)
        return MS_ERR_NOMEM;
    t->items[t->count++] = copy;
    return MS_OK;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const rc_entry *)a)->path, ((const rc_entry *)b)->path);
}

void rc_tree_sort(rc_tree *t)
{
    if (t->count)
        qsort(t->items, t->count, sizeof *t->items, entry_cmp);
}

const rc_entry *rc_tree_find(const rc_tree *t, const char *path)
{
    rc_entry key = {.path = (char *)path};
    return t->count ? bsearch(&key, t->items, t->count, sizeof *t->items, entry_cmp) : NULL;
}

void rc_tree_free(rc_tree *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->items[i].path);
    free(t->items);
    t->items = NULL;
    t->count = t->cap = 0;
}

static ms_status scan_dir(const char *root, const char *rel, int depth, rc_tree *out, char **error)
{
    if (depth > TREE_MAX_DEPTH) {
        *error = ms_asprintf("%s/%s: folders nested deeper than %d", root, rel, TREE_MAX_DEPTH);
        return MS_ERR_LIMIT;
    }
    char *path = join(root, rel);
    if (!path)
        return MS_ERR_NOMEM;
    DIR *d = opendir(path);
    if (!d) {
        *error = ms_asprintf("%s: %s", path, strerror(errno));
        free(path);
        return MS_ERR_IO;
    }
    ms_status st = MS_OK;
    struct dirent *de;
    while (st == MS_OK && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *child = rel[0] ? ms_asprintf("%s/%s", rel, de->d_name) : ms_strdup(de->d_name);
        struct stat sb;
        if (!child)
            st = MS_ERR_NOMEM;
        else if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            *error = ms_asprintf("%s/%s: %s", path, de->d_name, strerror(errno));
            st = MS_ERR_IO;
        } else {
            rc_entry e = {.path = child, .mode = sb.st_mode, .size = sb.st_size};
            st = rc_tree_add(out, &e);
            if (st == MS_ERR_LIMIT)
                *error = ms_asprintf("%s: more than %d entries", root, MS_RC_MAX_TREE_ENTRIES);
            if (st == MS_OK && S_ISDIR(sb.st_mode))
                st = scan_dir(root, child, depth + 1, out, error);
        }
        free(child);
    }
    closedir(d);
    free(path);
    return st;
}

ms_status rc_tree_scan(const char *root, rc_tree *out, char **error)
{
    struct stat sb;
    if (lstat(root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        *error = ms_asprintf("%s: not a folder", root);
        return MS_ERR_IO;
    }
    rc_entry top = {.path = "", .mode = sb.st_mode, .size = 0};
    ms_status st = rc_tree_add(out, &top);
    if (st == MS_OK)
        st = scan_dir(root, "", 0, out, error);
    if (st == MS_OK)
        rc_tree_sort(out);
    return st;
}

static int files_differ(const char *a, const char *b)
{
    int fa = open(a, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), fb = open(b, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int differ = fa < 0 || fb < 0;
    static const size_t n = 16 * 1024;
    char *ba = malloc(n), *bb = malloc(n);
    if (!ba || !bb)
        differ = 1;
    while (!differ) {
        ssize_t ra = read(fa, ba, n), rb = read(fb, bb, n);
        if (ra != rb || ra < 0 || memcmp(ba, bb, (size_t)ra) != 0)
            differ = 1;
        if (ra <= 0)
            break;
    }
    free(ba);
    free(bb);
    if (fa >= 0)
        close(fa);
    if (fb >= 0)
        close(fb);
    return differ;
}

static int links_differ(const char *a, const char *b)
{
    char ta[PATH_MAX], tb[PATH_MAX];
    ssize_t la = readlink(a, ta, sizeof ta), lb = readlink(b, tb, sizeof tb);
    return la < 0 || la != lb || memcmp(ta, tb, (size_t)la) != 0;
}

int rc_entry_differs(const char *root_a, const rc_entry *a, const char *root_b, const rc_entry *b)
{
    if (a->mode != b->mode)
        return 1;
    if (S_ISDIR(a->mode))
        return 0;
    if (a->size != b->size)
        return 1;
    char *pa = join(root_a, a->path), *pb = join(root_b, b->path);
    int differ = !pa || !pb;
    if (!differ)
        differ = S_ISLNK(a->mode) ? links_differ(pa, pb) : files_differ(pa, pb);
    free(pa);
    free(pb);
    return differ;
}

/* ---- building a tree ---- */

typedef struct build {
    const char *release_root, *install_root, *dest;
    uid_t owner;
    gid_t group;
    int as_root;
    char **error;
} build;

ms_status rc_copy_file(const char *from, const char *to, const struct stat *sb, char **error)
{
    int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0) {
        *error = ms_asprintf("%s: %s", from, strerror(errno));
        return MS_ERR_IO;
    }
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (out < 0) {
        *error = ms_asprintf("%s: %s", to, strerror(errno));
        close(in);
        return MS_ERR_IO;
    }
    ms_status st = MS_OK;
    char *chunk = malloc(COPY_CHUNK);
    if (!chunk)
        st = MS_ERR_NOMEM;
    while (st == MS_OK) {
        ssize_t n = read(in, chunk, COPY_CHUNK);
        if (n == 0)
            break;
        if (n < 0) {
            *error = ms_asprintf("%s: %s", from, strerror(errno));
            st = MS_ERR_IO;
            break;
        }
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, chunk + done, (size_t)(n - done));
            if (w < 0) {
                *error = ms_asprintf("%s: %s", to, strerror(errno));
                st = MS_ERR_IO;
                break;
            }
            done += w;
        }
    }
    free(chunk);
    struct timespec times[2] = {sb->st_atim, sb->st_mtim};
    if (st == MS_OK && (fchmod(out, sb->st_mode & 07777) != 0 || futimens(out, times) != 0)) {
        *error = ms_asprintf("%s: %s", to, strerror(errno));
        st = MS_ERR_IO;
    }
    close(in);
    if (close(out) != 0 && st == MS_OK) {
        *error = ms_asprintf("%s: %s", to, strerror(errno));
        st = MS_ERR_IO;
    }
    return st;
}

static ms_status copy_link(const char *from, const char *to, char **error)
{
    char target[PATH_MAX];
    ssize_t n = readlink(from, target, sizeof target - 1);
    if (n < 0 || symlink((target[n < 0 ? 0 : n] = '\0', target), to) != 0) {
        *error = ms_asprintf("%s: %s", n < 0 ? from : to, strerror(errno));
        return MS_ERR_IO;
    }
    return MS_OK;
}

/* One entry of the result: its file made at dest, from its source. */
static ms_status build_entry(const build *b, const rc_entry *e)
{
    const char *root = e->source == RC_FROM_RELEASE ? b->release_root : b->install_root;
    char *from = join(root, e->path), *to = join(b->dest, e->path);
    ms_status st = MS_OK;
    struct stat sb;
    if (!from || !to)
        st = MS_ERR_NOMEM;
    else if (lstat(from, &sb) != 0) {
        *b->error = ms_asprintf("%s: %s", from, strerror(errno));
        st = MS_ERR_IO;
    } else if (S_ISDIR(sb.st_mode)) {
        /* writable by us while it fills; its own mode is set at the end */
        if (mkdir(to, 0700) != 0 && !(e->path[0] == '\0' && errno == EEXIST)) {
            *b->error = ms_asprintf("%s: %s", to, strerror(errno));
            st = MS_ERR_IO;
        }
    } else if (S_ISLNK(sb.st_mode))
        st = copy_link(from, to, b->error);
    else if (S_ISREG(sb.st_mode))
        st = rc_copy_file(from, to, &sb, b->error);
    /* sockets, devices, FIFOs have no place in a web application: left out */
    if (st == MS_OK && b->as_root && (S_ISDIR(sb.st_mode) || S_ISLNK(sb.st_mode) || S_ISREG(sb.st_mode))) {
        uid_t uid = e->source == RC_FROM_RELEASE ? b->owner : sb.st_uid;
        gid_t gid = e->source == RC_FROM_RELEASE ? b->group : sb.st_gid;
        if (lchown(to, uid, gid) != 0) {
            *b->error = ms_asprintf("%s: %s", to, strerror(errno));
            st = MS_ERR_IO;
        }
    }
    free(from);
    free(to);
    return st;
}

/* The folders' own permissions and times, deepest first (a folder's time
 * changes while it fills; a read-only folder could not be filled). */
static ms_status finish_dirs(const build *b, const rc_tree *result)
{
    for (size_t i = result->count; i-- > 0;) {
        const rc_entry *e = &result->items[i];
        if (!S_ISDIR(e->mode))
            continue;
        const char *root = e->source == RC_FROM_RELEASE ? b->release_root : b->install_root;
        char *from = join(root, e->path), *to = join(b->dest, e->path);
        struct stat sb;
        ms_status st = MS_OK;
        if (!from || !to)
            st = MS_ERR_NOMEM;
        else if (lstat(from, &sb) != 0 || chmod(to, sb.st_mode & 07777) != 0) {
            *b->error = ms_asprintf("%s: %s", to, strerror(errno));
            st = MS_ERR_IO;
        } else {
            struct timespec times[2] = {sb.st_atim, sb.st_mtim};
            utimensat(AT_FDCWD, to, times, AT_SYMLINK_NOFOLLOW);
        }
        free(from);
        free(to);
        if (st != MS_OK)
            return st;
    }
    return MS_OK;
}

ms_status rc_tree_build(const rc_tree *result, const char *release_root, const char *install_root,
                        const char *dest, char **error)
{
    struct stat top;
    if (stat(install_root, &top) != 0) {
        *error = ms_asprintf("%s: %s", install_root, strerror(errno));
        return MS_ERR_IO;
    }
    build b = {release_root, install_root, dest, top.st_uid, top.st_gid, geteuid() == 0, error};
    ms_status st = MS_OK;
    for (size_t i = 0; st == MS_OK && i < result->count; i++)
        st = build_entry(&b, &result->items[i]);
    if (st == MS_OK)
        st = finish_dirs(&b, result);
    if (st == MS_OK) /* every file of the tree on disk before the tree is switched in */
        st = rc_sync_tree(dest, error);
    return st;
}

ms_status rc_sync_tree(const char *dir, char **error)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ms_status st = MS_OK;
    if (fd < 0 || syncfs(fd) != 0) {
        *error = ms_asprintf("%s: %s", dir, strerror(errno));
        st = MS_ERR_IO;
    }
    if (fd >= 0)
        close(fd);
    return st;
}

/* ---- removing a tree ---- */

static ms_status remove_at(int parent, const char *name, const char *shown, int depth, char **error)
{
    struct stat sb;
    if (fstatat(parent, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? MS_OK : (*error = ms_asprintf("%s: %s", shown, strerror(errno)), MS_ERR_IO);
    if (S_ISDIR(sb.st_mode)) {
        if (depth > TREE_MAX_DEPTH) {
            *error = ms_asprintf("%s: folders nested too deep", shown);
            return MS_ERR_LIMIT;
        }
        fchmodat(parent, name, 0700, 0); /* a read-only folder can be emptied */
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
            *error = ms_asprintf("%s: %s", shown, strerror(errno));
            if (fd >= 0)
                close(fd);
            return MS_ERR_IO;
        }
        ms_status st = MS_OK;
        struct dirent *de;
        while (st == MS_OK && (de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                st = remove_at(dirfd(d), de->d_name, shown, depth + 1, error);
        closedir(d);
        if (st != MS_OK)
            return st;
    }
    if (unlinkat(parent, name, S_ISDIR(sb.st_mode) ? AT_REMOVEDIR : 0) != 0) {
        *error = ms_asprintf("%s (%s): %s", shown, name, strerror(errno));
        return MS_ERR_IO;
    }
    return MS_OK;
}

ms_status rc_remove_tree(const char *path, char **error)
{
    return remove_at(AT_FDCWD, path, path, 0, error);
}
