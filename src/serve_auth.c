/* mailsec serve: the password and token files (serve_auth.h). */
#include "serve_auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The whole file, at most SERVE_AUTH_FILE_MAX bytes, NUL-terminated. */
static char *read_small_file(const char *path, char *why, size_t why_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(SERVE_AUTH_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, SERVE_AUTH_FILE_MAX + 1, f) : 0;
    int failed = text == NULL || ferror(f);
    fclose(f);
    if (failed || n > SERVE_AUTH_FILE_MAX || memchr(text, '\0', n) != NULL) {
        snprintf(why, why_len, "%s: %s", path, failed ? "cannot be read"
                                                  : n > SERVE_AUTH_FILE_MAX ? "larger than 1 MiB"
                                                                            : "holds a NUL byte");
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

/* A hash crypt(3) takes and that is not the legacy DES form (8-character
 * passwords, 12-bit salt). */
static int hash_acceptable(const char *hash)
{
    return hash[0] == '$' && crypt_checksalt(hash) == CRYPT_SALT_OK;
}

static int add_user(serve_auth *auth, const char *line, size_t len, const char *path, size_t line_no,
                    char *why, size_t why_len)
{
    const char *colon = memchr(line, ':', len);
    if (colon == NULL || colon == line || len > SERVE_AUTH_FIELD_MAX) {
        snprintf(why, why_len, "%s:%zu: not a USER:HASH line", path, line_no);
        return -1;
    }
    if (auth->user_count == SERVE_AUTH_USERS_MAX) {
        snprintf(why, why_len, "%s: more than %d users", path, SERVE_AUTH_USERS_MAX);
        return -1;
    }
    serve_user u = {strndup(line, (size_t)(colon - line)), strndup(colon + 1, len - (size_t)(colon - line) - 1)};
    serve_user *grown = realloc(auth->users, (auth->user_count + 1) * sizeof *grown);
    if (u.name == NULL || u.hash == NULL || grown == NULL) {
        free(u.name), free(u.hash);
        snprintf(why, why_len, "%s: out of memory", path);
        return -1;
    }
    auth->users = grown;
    auth->users[auth->user_count++] = u;
    if (!hash_acceptable(u.hash)) {
        snprintf(why, why_len, "%s:%zu: the hash of \"%s\" is not a crypt(3) hash this system takes, or a weak "
                           "DES one (make one with: mkpasswd -m yescrypt)",
                           path, line_no, u.name);
        return -1;
    }
    return 0;
}

static int load_passwords(serve_auth *auth, const char *path, char *why, size_t why_len)
{
    char *text = read_small_file(path, why, why_len);
    if (text == NULL)
        return -1;
    int rc = 0;
    size_t line_no = 0;
    for (char *line = text; rc == 0 && *line != '\0';) {
        char *end = line + strcspn(line, "\n");
        char *next = *end ? end + 1 : end;
        line_no++;
        if (end > line && end[-1] == '\r')
            end--;
        if (end > line && line[0] != '#')
            rc = add_user(auth, line, (size_t)(end - line), path, line_no, why, why_len);
        line = next;
    }
    free(text);
    if (rc == 0 && auth->user_count == 0) {
        snprintf(why, why_len, "%s: no USER:HASH line", path);
        rc = -1;
    }
    return rc;
}

/* The token: the file's first line, without its line ending. */
static int load_token(serve_auth *auth, const char *path, char *why, size_t why_len)
{
    char *text = read_small_file(path, why, why_len);
    if (text == NULL)
        return -1;
    text[strcspn(text, "\r\n")] = '\0';
    auth->token_len = strlen(text);
    auth->token = text;
    if (auth->token_len < SERVE_AUTH_TOKEN_MIN || auth->token_len > SERVE_AUTH_FIELD_MAX) {
        snprintf(why, why_len, "%s: the token must be %d to %d characters (make one with: openssl rand -hex 32)",
                           path, SERVE_AUTH_TOKEN_MIN, SERVE_AUTH_FIELD_MAX);
        return -1;
    }
    return 0;
}

int serve_auth_load(serve_auth *auth, const char *password_file, const char *token_file, char *why, size_t why_len)
{
    memset(auth, 0, sizeof *auth);
    why[0] = '\0';
    if ((password_file && load_passwords(auth, password_file, why, why_len) != 0) ||
        (token_file && load_token(auth, token_file, why, why_len) != 0)) {
        serve_auth_free(auth);
        return -1;
    }
    return 0;
}

void serve_auth_free(serve_auth *auth)
{
    for (size_t i = 0; i < auth->user_count; i++) {
        free(auth->users[i].name);
        free(auth->users[i].hash);
    }
    free(auth->users);
    free(auth->token);
    memset(auth, 0, sizeof *auth);
}

int serve_auth_required(const serve_auth *auth)
{
    return auth->user_count > 0 || auth->token != NULL;
}

int serve_equal_ct(const char *a, size_t alen, const char *b, size_t blen)
{
    volatile unsigned char diff = alen != blen;
    for (size_t i = 0; i < blen; i++)
        diff |= (unsigned char)((i < alen ? (unsigned char)a[i] : 0) ^ (unsigned char)b[i]);
    return diff == 0;
}

int serve_auth_password_ok(const serve_auth *auth, const char *user, const char *password)
{
    if (auth->user_count == 0 || user == NULL || password == NULL)
        return 0;
    const serve_user *found = NULL;
    for (size_t i = 0; i < auth->user_count; i++)
        if (strcmp(auth->users[i].name, user) == 0)
            found = &auth->users[i];
    /* An unknown user costs the same crypt(3) run, against the first hash. */
    const char *hash = found ? found->hash : auth->users[0].hash;
    struct crypt_data *data = calloc(1, sizeof *data);
    if (data == NULL)
        return 0;
    const char *computed = crypt_rn(password, hash, data, (int)sizeof *data);
    int ok = computed != NULL && serve_equal_ct(computed, strlen(computed), hash, strlen(hash)) && found != NULL;
    free(data);
    return ok;
}

int serve_auth_token_ok(const serve_auth *auth, const char *token)
{
    return auth->token != NULL && token != NULL &&
           serve_equal_ct(token, strlen(token), auth->token, auth->token_len);
}
