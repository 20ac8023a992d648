/* What a Roundcube installation is: its version, whether Debian's
 * roundcube-core package put it there, and where its configuration, code
 * and web root are. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    INISET_MAX_BYTES = 256 * 1024,  /* program/include/iniset.php is 5 KB */
    DPKG_STATUS_MAX_BYTES = 64 << 20 /* a system with thousands of packages: a few MB */
};

/* ---- small file helpers shared by the module ---- */

char *rc_path(const char *dir, const char *name)
{
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    return ms_asprintf("%.*s/%s", (int)dlen, dir, name);
}

int rc_exists(const char *path)
{
    struct stat st;
    return path != NULL && lstat(path, &st) == 0;
}

int rc_is_dir(const char *path)
{
    struct stat st;
    return path != NULL && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

ms_status rc_read_file(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return MS_ERR_IO;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return MS_ERR_IO;
    }
    if ((unsigned long long)st.st_size > max) {
        close(fd);
        return MS_ERR_LIMIT;
    }
    ms_buf buf = MS_BUF_INIT;
    char chunk[16384];
    ms_status st_out = MS_OK;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            st_out = MS_ERR_IO;
            break;
        }
        if (n == 0)
            break;
        if (buf.len + (size_t)n > max) { /* the file grew while read */
            st_out = MS_ERR_LIMIT;
            break;
        }
        ms_buf_append(&buf, chunk, (size_t)n);
    }
    close(fd);
    if (st_out == MS_OK && buf.data == NULL && !buf.failed)
        ms_buf_puts(&buf, "");
    if (st_out == MS_OK && buf.failed)
        st_out = MS_ERR_NOMEM;
    if (st_out != MS_OK) {
        ms_buf_free(&buf);
        return st_out;
    }
    *len = buf.len;
    *out = ms_buf_take(&buf);
    return MS_OK;
}

/* ---- versions ---- */

static int parse_number(const char **p, int *out)
{
    if (!isdigit((unsigned char)**p))
        return 0;
    long n = 0;
    while (isdigit((unsigned char)**p)) {
        if (n < 100000)
            n = n * 10 + (**p - '0');
        (*p)++;
    }
    *out = (int)(n > 99999 ? 99999 : n);
    return 1;
}

ms_status ms_rc_version_parse(const char *text, ms_rc_version *out)
{
    if (text == NULL || out == NULL)
        return MS_ERR_INVALID;
    ms_rc_version v = {0, 0, 0};
    const char *p = text;
    const char *colon = strchr(text, ':'); /* a Debian epoch "1:1.6.5" */
    if (colon != NULL && colon - text < 8) {
        const char *q = text;
        while (q < colon && isdigit((unsigned char)*q))
            q++;
        if (q == colon)
            p = colon + 1;
    }
    if (!parse_number(&p, &v.major) || *p != '.')
        return MS_ERR_INVALID;
    p++;
    if (!parse_number(&p, &v.minor))
        return MS_ERR_INVALID;
    if (*p == '.') {
        p++;
        if (!parse_number(&p, &v.patch))
            v.patch = 0;
    }
    *out = v;
    return MS_OK;
}

int ms_rc_version_cmp(const ms_rc_version *a, const ms_rc_version *b)
{
    if (a->major != b->major)
        return a->major < b->major ? -1 : 1;
    if (a->minor != b->minor)
        return a->minor < b->minor ? -1 : 1;
    if (a->patch != b->patch)
        return a->patch < b->patch ? -1 : 1;
    return 0;
}

/* ---- finding the version ---- */

/* The quoted second argument of define('RCMAIL_VERSION', '1.6.18') into
 * *version; MS_ERR_IO when there is none. */
static ms_status rcmail_version(const char *iniset, char **version)
{
    const char *p = strstr(iniset, "RCMAIL_VERSION'");
    if (p == NULL)
        p = strstr(iniset, "RCMAIL_VERSION\"");
    if (p == NULL)
        return MS_ERR_IO;
    p += strlen("RCMAIL_VERSION'");
    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    if (*p != '\'' && *p != '"')
        return MS_ERR_IO;
    char quote = *p++;
    const char *end = p;
    while (*end != '\0' && *end != quote && *end != '\n' && end - p < 64)
        end++;
    if (*end != quote || end == p)
        return MS_ERR_IO;
    *version = ms_asprintf("%.*s", (int)(end - p), p);
    return *version != NULL ? MS_OK : MS_ERR_NOMEM;
}

/* The Version: of an installed roundcube-core in a dpkg status file into
 * *version; MS_ERR_IO when the package is not installed. */
static ms_status dpkg_version(const char *status, char **version_out)
{
    const char *p = status;
    while (p != NULL && *p != '\0') {
        const char *end = strstr(p, "\n\n");
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        int is_core = 0, installed = 0;
        const char *version = NULL;
        size_t version_len = 0;
        for (const char *line = p; line < p + len;) {
            const char *nl = memchr(line, '\n', (size_t)(p + len - line));
            size_t ll = nl != NULL ? (size_t)(nl - line) : (size_t)(p + len - line);
            if (ll == strlen("Package: roundcube-core") &&
                strncmp(line, "Package: roundcube-core", ll) == 0)
                is_core = 1;
            else if (ll > 8 && strncmp(line, "Status: ", 8) == 0 &&
                     ll >= 9 && memcmp(line + ll - 9, "installed", 9) == 0 &&
                     (ll < 11 || memcmp(line + ll - 11, "not-installed", 11) != 0))
                installed = 1;
            else if (ll > 9 && strncmp(line, "Version: ", 9) == 0) {
                version = line + 9;
                version_len = ll - 9;
            }
            line = nl != NULL ? nl + 1 : p + len;
        }
        if (is_core && installed && version != NULL && version_len < 128) {
            *version_out = ms_asprintf("%.*s", (int)version_len, version);
            return *version_out != NULL ? MS_OK : MS_ERR_NOMEM;
        }
        p = end != NULL ? end + 2 : NULL;
    }
    return MS_ERR_IO;
}

/* When real (a resolved path) is ROOT/usr/share/roundcube or
 * ROOT/var/lib/roundcube, *root is the ROOT ("/" for the real package);
 * else it stays NULL. */
static ms_status debian_root_of(const char *real, char **root)
{
    static const char *const suffixes[] = {"/usr/share/roundcube", "/var/lib/roundcube"};
    size_t len = strlen(real);
    *root = NULL;
    for (size_t i = 0; i < 2; i++) {
        size_t sl = strlen(suffixes[i]);
        if (len >= sl && strcmp(real + len - sl, suffixes[i]) == 0) {
            *root = len == sl ? ms_strdup("/") : ms_asprintf("%.*s", (int)(len - sl), real);
            return *root != NULL ? MS_OK : MS_ERR_NOMEM;
        }
    }
    return MS_OK;
}

static ms_status open_debian(ms_rc_install *inst, const char *root)
{
    char *status_path = rc_path(root, "var/lib/dpkg/status");
    if (status_path == NULL)
        return MS_ERR_NOMEM;
    char *status = NULL;
    size_t len;
    ms_status st = rc_read_file(status_path, DPKG_STATUS_MAX_BYTES, &status, &len);
    free(status_path);
    if (st != MS_OK)
        return st;
    st = dpkg_version(status, &inst->version_string);
    free(status);
    if (st != MS_OK)
        return st; /* MS_ERR_IO: roundcube-core is not installed there */
    inst->is_debian = 1;
    inst->debian_root = ms_strdup(root);
    inst->code_dir = rc_path(root, "usr/share/roundcube");
    inst->config_dir = rc_path(root, "etc/roundcube");
    char *lib = rc_path(root, "var/lib/roundcube/public_html");
    if (inst->debian_root == NULL || inst->code_dir == NULL || inst->config_dir == NULL ||
        lib == NULL) {
        free(lib);
        return MS_ERR_NOMEM;
    }
    if (rc_is_dir(lib))
        inst->public_html = lib;
    else
        free(lib);
    inst->db_config = rc_path(inst->config_dir, "debian-db-roundcube.php");
    if (inst->db_config == NULL)
        return MS_ERR_NOMEM;
    if (!rc_exists(inst->db_config)) {
        free(inst->db_config);
        inst->db_config = NULL;
    }
    return MS_OK;
}

static ms_status open_tarball(ms_rc_install *inst)
{
    char *iniset_path = rc_path(inst->dir, "program/include/iniset.php");
    if (iniset_path == NULL)
        return MS_ERR_NOMEM;
    char *iniset = NULL;
    size_t len;
    ms_status st = rc_read_file(iniset_path, INISET_MAX_BYTES, &iniset, &len);
    free(iniset_path);
    if (st != MS_OK)
        return st == MS_ERR_NOMEM ? st : MS_ERR_IO;
    st = rcmail_version(iniset, &inst->version_string);
    free(iniset);
    if (st != MS_OK)
        return st;
    inst->code_dir = ms_strdup(inst->dir);
    inst->config_dir = rc_path(inst->dir, "config");
    if (inst->code_dir == NULL || inst->config_dir == NULL)
        return MS_ERR_NOMEM;
    return MS_OK;
}

/* config.inc.php, else the legacy main.inc.php with its db.inc.php. */
static ms_status find_configs(ms_rc_install *inst)
{
    char *main = rc_path(inst->config_dir, "config.inc.php");
    if (main == NULL)
        return MS_ERR_NOMEM;
    if (rc_exists(main)) {
        inst->main_config = main;
        return MS_OK;
    }
    free(main);
    char *legacy = rc_path(inst->config_dir, "main.inc.php");
    if (legacy == NULL)
        return MS_ERR_NOMEM;
    if (!rc_exists(legacy)) {
        free(legacy);
        return MS_OK;
    }
    inst->main_config = legacy;
    if (inst->db_config == NULL) {
        char *db = rc_path(inst->config_dir, "db.inc.php");
        if (db == NULL)
            return MS_ERR_NOMEM;
        if (rc_exists(db))
            inst->db_config = db;
        else
            free(db);
    }
    return MS_OK;
}

/* A tarball has public_html/ since 1.5 (1.4.x ships one too, since 1.4.0). */
static ms_status find_public_html(ms_rc_install *inst)
{
    if (inst->is_debian)
        return MS_OK;
    char *pub = rc_path(inst->dir, "public_html");
    if (pub == NULL)
        return MS_ERR_NOMEM;
    if (rc_is_dir(pub))
        inst->public_html = pub;
    else
        free(pub);
    return MS_OK;
}

ms_status ms_rc_install_open(const char *dir, ms_rc_install **out)
{
    if (dir == NULL || out == NULL)
        return MS_ERR_INVALID;
    *out = NULL;
    ms_rc_install *inst = calloc(1, sizeof *inst);
    if (inst == NULL || (inst->dir = ms_strdup(dir)) == NULL) {
        free(inst);
        return MS_ERR_NOMEM;
    }
    ms_status st = MS_ERR_IO;
    char *real = realpath(dir, NULL);
    if (real != NULL) {
        char *root = NULL;
        st = debian_root_of(real, &root);
        free(real);
        if (st == MS_OK)
            st = root != NULL ? open_debian(inst, root) : MS_ERR_IO;
        free(root);
        if (st == MS_ERR_IO && !inst->is_debian)
            st = open_tarball(inst);
    }
    if (st == MS_OK && ms_rc_version_parse(inst->version_string, &inst->version) != MS_OK)
        st = MS_ERR_IO;
    if (st == MS_OK)
        st = find_configs(inst);
    if (st == MS_OK)
        st = find_public_html(inst);
    if (st != MS_OK) {
        ms_rc_install_free(inst);
        return st == MS_ERR_LIMIT ? MS_ERR_IO : st;
    }
    *out = inst;
    return MS_OK;
}

void ms_rc_install_free(ms_rc_install *inst)
{
    if (inst == NULL)
        return;
    free(inst->dir);
    free(inst->code_dir);
    free(inst->version_string);
    free(inst->debian_root);
    free(inst->config_dir);
    free(inst->main_config);
    free(inst->db_config);
    free(inst->public_html);
    free(inst);
}

const char *ms_rc_install_dir(const ms_rc_install *inst)
{
    return inst->dir;
}

const char *ms_rc_install_code_dir(const ms_rc_install *inst)
{
    return inst->code_dir;
}

const char *ms_rc_install_version_string(const ms_rc_install *inst)
{
    return inst->version_string;
}

ms_rc_version ms_rc_install_version(const ms_rc_install *inst)
{
    return inst->version;
}

int ms_rc_install_is_debian(const ms_rc_install *inst)
{
    return inst->is_debian;
}

const char *ms_rc_install_config_dir(const ms_rc_install *inst)
{
    return inst->config_dir;
}

const char *ms_rc_install_main_config(const ms_rc_install *inst)
{
    return inst->main_config;
}

const char *ms_rc_install_db_config(const ms_rc_install *inst)
{
    return inst->db_config;
}

const char *ms_rc_install_public_html(const ms_rc_install *inst)
{
    return inst->public_html;
}
