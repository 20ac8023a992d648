/* Making signing keys and writing them down: a new private key, the file
 * that holds it (mode 0600 from its creation), the zone-file line that
 * publishes its public half. */
#include "privkey.h"
#include "core/lazy_openssl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ms_status ms_dkim_privkey_generate(ms_dkim_key_type type, unsigned bits, ms_dkim_privkey **out)
{
    if (out == NULL)
        return MS_ERR_INVALID;
    *out = NULL;
    if (bits == 0)
        bits = MS_DKIM_RSA_DEFAULT_BITS;
    if (type == MS_DKIM_KEY_RSA && (bits < DK_RSA_MIN_BITS || bits > DK_RSA_MAX_BITS))
        return MS_ERR_INVALID;
    if (type != MS_DKIM_KEY_RSA && type != MS_DKIM_KEY_ED25519)
        return MS_ERR_INVALID;
    EVP_PKEY *pkey = type == MS_DKIM_KEY_RSA ? EVP_RSA_gen(bits) : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (pkey == NULL)
        return MS_ERR_NOMEM;
    const char *why = NULL;
    *out = dk_privkey_wrap(pkey, &why);
    return *out ? MS_OK : MS_ERR_NOMEM;
}

static ms_status save_fail(char **errmsg, const char *path, const char *what, int err)
{
    if (errmsg)
        *errmsg = ms_asprintf("%s: %s: %s", path, what, strerror(err));
    return MS_ERR_IO;
}

/* The key as PKCS#8 PEM in memory; *len its length. */
static char *pem_of(const ms_dkim_privkey *key, size_t *len)
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *copy = NULL;
    if (mem != NULL && PEM_write_bio_PrivateKey(mem, key->pkey, NULL, NULL, 0, NULL, NULL) == 1) {
        char *data = NULL;
        long n = BIO_get_mem_data(mem, &data);
        if (n > 0 && (copy = malloc((size_t)n)) != NULL) {
            memcpy(copy, data, (size_t)n);
            *len = (size_t)n;
        }
    }
    BIO_free(mem); /* BIO_s_mem frees (not cleanses) its buffer; the copy is cleansed below */
    return copy;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

ms_status ms_dkim_privkey_save(const ms_dkim_privkey *key, const char *path, char **errmsg)
{
    if (errmsg)
        *errmsg = NULL;
    if (key == NULL || path == NULL)
        return MS_ERR_INVALID;
    size_t len = 0;
    char *pem = pem_of(key, &len);
    if (pem == NULL)
        return MS_ERR_NOMEM;
    /* O_EXCL: never overwrite a key (perhaps the one in use), never follow
     * a symlink planted where the key goes; 0600 at creation, so the
     * private key is never readable by others, not even for an instant */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    ms_status st = MS_OK;
    if (fd < 0) {
        st = save_fail(errmsg, path, errno == EEXIST ? "refusing to overwrite" : "cannot create",
                       errno);
    } else {
        int failed = write_all(fd, pem, len) != 0 || fsync(fd) != 0;
        int err = errno;
        failed |= close(fd) != 0;
        if (failed) {
            st = save_fail(errmsg, path, "cannot write", err ? err : errno);
            unlink(path); /* a partial key is worse than none */
        }
    }
    OPENSSL_cleanse(pem, len);
    free(pem);
    return st;
}

ms_status ms_dkim_zone_line(const char *domain, const char *selector, const char *record,
                            unsigned ttl, char **line)
{
    if (line == NULL)
        return MS_ERR_INVALID;
    *line = NULL;
    if (domain == NULL || selector == NULL || record == NULL ||
        !ms_domain_check(selector, strlen(selector), MS_DOMAIN_LDH | MS_DOMAIN_UNDERSCORE))
        return MS_ERR_INVALID;
    char *prefix = ms_asprintf("%s._domainkey.", selector);
    if (prefix == NULL)
        return MS_ERR_NOMEM;
    ms_status st = ms_zone_txt_line(prefix, domain, record, ttl, line);
    free(prefix);
    return st;
}
