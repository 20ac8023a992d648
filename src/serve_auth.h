/* mailsec serve: who may read the dashboard. A password file (user:HASH
 * lines, crypt(3) hashes such as yescrypt's $y$...) for HTTP Basic, a token
 * file for "Authorization: Bearer", or both (docs/serve.md). */
#ifndef MAILSEC_SRC_SERVE_AUTH_H
#define MAILSEC_SRC_SERVE_AUTH_H

#include <stddef.h>

typedef struct serve_user {
    char *name;
    char *hash;
} serve_user;

typedef struct serve_auth {
    serve_user *users;
    size_t user_count;
    char *token; /* NULL: no token file */
    size_t token_len;
} serve_auth;

/* Bounds on what the files may hold. */
enum {
    SERVE_AUTH_FILE_MAX = 1 << 20, /* bytes */
    SERVE_AUTH_USERS_MAX = 1000,
    SERVE_AUTH_TOKEN_MIN = 16, /* characters: shorter is guessable */
    SERVE_AUTH_FIELD_MAX = 1024
};

/* Load the files (either may be NULL). 0, else -1 with why filled in:
 * unreadable, too large, a line that is not user:HASH, a hash crypt(3)
 * does not take or a weak legacy one (DES), no user, a short token. */
int serve_auth_load(serve_auth *auth, const char *password_file, const char *token_file, char *why, size_t why_len);
void serve_auth_free(serve_auth *auth);
/* Whether any credential is configured. */
int serve_auth_required(const serve_auth *auth);
/* 1 when user and password match a line of the password file. Takes as
 * long (one crypt(3) run) for an unknown user as for a known one. */
int serve_auth_password_ok(const serve_auth *auth, const char *user, const char *password);
/* 1 when token is the token file's, compared in constant time. */
int serve_auth_token_ok(const serve_auth *auth, const char *token);
/* a and b equal, in a time that depends only on the lengths. */
int serve_equal_ct(const char *a, size_t alen, const char *b, size_t blen);

#endif
