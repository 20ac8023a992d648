/* The MariaDB/MySQL face of lib/email: user-defined functions is_email,
 * email_diagnosis, email_normalize, email_local and email_domain, created
 * by install.sql (docs/sql.md).
 *
 * Thin glue only: every answer comes from ms_email_check() or
 * ms_email_normalize(). What this file adds is what the UDF interface
 * needs:
 *  - argument counts and types are checked once, in xxx_init, with a
 *    readable message; a constant profile name is checked there too, so
 *    is_email(x, 'bogus') is an SQL error before any row is read;
 *  - a NULL address or profile gives NULL (as STRICT does in PostgreSQL);
 *  - string results live in the server's 255-byte buffer or, when longer,
 *    in a per-statement buffer freed by xxx_deinit.
 * The symbol names are the SQL names: the UDF interface finds them so.
 * Strings are taken as UTF-8 bytes (see docs/sql.md for other charsets).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include <mailsec/email.h>

#define UDF_EXPORT __attribute__((visibility("default")))

/* Longer than any profile name: a longer argument is simply unknown. */
#define PROFILE_NAME_MAX 16
/* The server's result buffer for string functions (MySQL documents 255). */
#define RESULT_BUF_SIZE 255
/* The width announced for results built from the normal form: at least
 * this, or 4 times the argument's width, as an A-label can be longer than
 * its U-label ("xn--" plus the Punycode). Only a hint to the server (the
 * column width of temporary results). */
#define NORMAL_FORM_MIN_WIDTH 1024

/* Per-statement state (initid->ptr). */
typedef struct udf_state {
    int has_profile;            /* called with a second argument */
    int profile_is_const;       /* ...which was a constant, checked in init */
    ms_email_profile profile;
    char *buf;                  /* result storage beyond RESULT_BUF_SIZE */
    size_t cap;
} udf_state;

/* The server shows at most 80 characters of an init message. */
static const char profile_help[] = "use smtp, rfc5322, html5 or intl";

static int profile_from(const char *s, unsigned long len, ms_email_profile *out)
{
    char name[PROFILE_NAME_MAX + 1];

    if (len > PROFILE_NAME_MAX || memchr(s, '\0', len))
        return 0;
    memcpy(name, s, len);
    name[len] = '\0';
    return ms_email_profile_parse(name, out);
}

/* The common xxx_init: one address, an optional profile, both strings. */
static my_bool udf_init(const char *fn, UDF_INIT *initid, UDF_ARGS *args, char *message)
{
    udf_state *st;

    if (args->arg_count < 1 || args->arg_count > 2) {
        snprintf(message, MYSQL_ERRMSG_SIZE, "%s(address [, profile]) takes 1 or 2 arguments", fn);
        return 1;
    }
    /* Numbers and the like are converted by the server, as for any string
     * function. */
    for (unsigned i = 0; i < args->arg_count; i++)
        args->arg_type[i] = STRING_RESULT;
    st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(message, MYSQL_ERRMSG_SIZE, "%s: out of memory", fn);
        return 1;
    }
    st->profile = MS_EMAIL_PROFILE_SMTP;
    if (args->arg_count == 2) {
        st->has_profile = 1;
        /* args->args[1] is set in init only for a constant argument. */
        if (args->args[1]) {
            if (!profile_from(args->args[1], args->lengths[1], &st->profile)) {
                int shown = args->lengths[1] > PROFILE_NAME_MAX ? PROFILE_NAME_MAX : (int)args->lengths[1];
                snprintf(message, MYSQL_ERRMSG_SIZE, "unknown e-mail address profile '%.*s' (%s)", shown,
                         args->args[1], profile_help);
                free(st);
                return 1;
            }
            st->profile_is_const = 1;
        }
    }
    initid->ptr = (char *)st;
    initid->maybe_null = 1;
    initid->const_item = 0;
    initid->max_length = RESULT_BUF_SIZE;
    return 0;
}

/* xxx_init for the functions that answer with (part of) the normal form. */
static my_bool udf_init_normal(const char *fn, UDF_INIT *initid, UDF_ARGS *args, char *message)
{
    unsigned long width;

    if (udf_init(fn, initid, args, message))
        return 1;
    width = args->lengths[0] > UINT_MAX / 4 ? UINT_MAX : args->lengths[0] * 4;
    initid->max_length = width < NORMAL_FORM_MIN_WIDTH ? NORMAL_FORM_MIN_WIDTH : (unsigned)width;
    return 0;
}

static void udf_deinit(UDF_INIT *initid)
{
    udf_state *st = (udf_state *)initid->ptr;

    if (st) {
        free(st->buf);
        free(st);
    }
    initid->ptr = NULL;
}

/* The xxx_init and xxx_deinit that MariaDB calls before and after the rows
 * of a statement that uses UDF xxx: their names are the UDF interface, so
 * one macro writes both from the UDF's name. init is udf_init or
 * udf_init_normal. */
#define UDF_LIFECYCLE(name, init)                                                      \
    UDF_EXPORT my_bool name##_init(UDF_INIT *initid, UDF_ARGS *args, char *message)     \
    {                                                                                   \
        return init(#name, initid, args, message);                                      \
    }                                                                                   \
    UDF_EXPORT void name##_deinit(UDF_INIT *initid)                                     \
    {                                                                                   \
        udf_deinit(initid);                                                             \
    }

/* The row's profile, or 0 when the row's answer is NULL: a NULL profile, or
 * (non-constant profile only) an unknown name. A UDF cannot raise an error
 * from a row, and its error flag would turn every later row of the
 * statement into NULL too; so an unknown name is NULL for its row only. */
static int row_profile(udf_state *st, UDF_ARGS *args, ms_email_profile *out)
{
    if (!st->has_profile || st->profile_is_const) {
        *out = st->profile;
        return 1;
    }
    return args->args[1] && profile_from(args->args[1], args->lengths[1], out);
}

/* Returns s (len bytes) as the UDF result, copied to storage that outlives
 * the call; NULL (with *error set) when out of memory. */
static char *udf_string(UDF_INIT *initid, char *result, const char *s, size_t len,
                        unsigned long *length, char *error)
{
    udf_state *st = (udf_state *)initid->ptr;
    char *dst = result;

    if (len > RESULT_BUF_SIZE) {
        if (len > st->cap) {
            char *grown = realloc(st->buf, len);
            if (!grown) {
                *error = 1;
                return NULL;
            }
            st->buf = grown;
            st->cap = len;
        }
        dst = st->buf;
    }
    memcpy(dst, s, len);
    *length = (unsigned long)len;
    return dst;
}

/* The check of the row's address under its profile; 0, with *is_null set,
 * when the row's answer is NULL (a NULL address or profile, an unknown
 * profile). */
static int row_check(UDF_INIT *initid, UDF_ARGS *args, ms_email_result *r, char *is_null)
{
    ms_email_profile profile;

    if (!args->args[0] || !row_profile((udf_state *)initid->ptr, args, &profile)) {
        *is_null = 1;
        return 0;
    }
    ms_email_check(args->args[0], args->lengths[0], profile, r);
    return 1;
}

/* The row's normal form (to free) and its profile, or NULL with *is_null
 * set when the row's answer is NULL: *error is set too when that is a
 * failure, not an address that is not valid under the profile. */
static char *row_normal_form(UDF_INIT *initid, UDF_ARGS *args, ms_email_profile *profile,
                             char *is_null, char *error)
{
    char *out = NULL;
    ms_status status = MS_ERR_INVALID;

    if (args->args[0] && row_profile((udf_state *)initid->ptr, args, profile))
        status = ms_email_normalize(args->args[0], args->lengths[0], *profile, &out);
    if (status != MS_OK)
        *is_null = 1;
    if (status != MS_OK && status != MS_ERR_INVALID)
        *error = 1;
    return status == MS_OK ? out : NULL;
}

/* ---- is_email(address [, profile]) -> 1, 0 or NULL ---- */

UDF_LIFECYCLE(is_email, udf_init)

UDF_EXPORT long long is_email(UDF_INIT *initid, UDF_ARGS *args, char *is_null, char *error)
{
    ms_email_result r;

    (void)error;  /* nothing here can fail */
    if (!row_check(initid, args, &r, is_null))
        return 0;
    return r.valid ? 1 : 0;
}

/* ---- email_diagnosis(address [, profile]) -> code ---- */

UDF_LIFECYCLE(email_diagnosis, udf_init)

UDF_EXPORT char *email_diagnosis(UDF_INIT *initid, UDF_ARGS *args, char *result,
                                 unsigned long *length, char *is_null, char *error)
{
    ms_email_result r;

    if (!row_check(initid, args, &r, is_null))
        return NULL;
    return udf_string(initid, result, r.diagnosis, strlen(r.diagnosis), length, error);
}

/* ---- email_normalize(address [, profile]) -> normal form or NULL ---- */

UDF_LIFECYCLE(email_normalize, udf_init_normal)

UDF_EXPORT char *email_normalize(UDF_INIT *initid, UDF_ARGS *args, char *result,
                                 unsigned long *length, char *is_null, char *error)
{
    ms_email_profile profile;
    char *out = row_normal_form(initid, args, &profile, is_null, error), *ret;

    if (!out)
        return NULL;
    ret = udf_string(initid, result, out, strlen(out), length, error);
    free(out);
    return ret;
}

/* ---- email_local / email_domain(address [, profile]) -> part of the normal form ---- */

/* As in SQLite and PostgreSQL: the part of the normal form, so that
 * GROUP BY email_domain(x) groups Example.COM with example.com. The parts
 * come from parsing the normal form again, not from splitting at an "@":
 * a quoted local part and a domain literal may both hold one. */
static char *address_part(UDF_INIT *initid, UDF_ARGS *args, char *result, unsigned long *length,
                          char *is_null, char *error, int want_domain)
{
    ms_email_profile profile;
    ms_email_result r;
    char *normal = row_normal_form(initid, args, &profile, is_null, error), *ret;

    if (!normal)
        return NULL;
    ms_email_check(normal, strlen(normal), profile, &r);
    if (!r.valid) {
        /* Cannot happen for a sound normal form; flag it, never guess. */
        free(normal);
        *is_null = 1;
        *error = 1;
        return NULL;
    }
    if (want_domain)
        ret = udf_string(initid, result, normal + r.domain_start, r.domain_len, length, error);
    else
        ret = udf_string(initid, result, normal + r.local_start, r.local_len, length, error);
    free(normal);
    return ret;
}

UDF_LIFECYCLE(email_local, udf_init_normal)

UDF_EXPORT char *email_local(UDF_INIT *initid, UDF_ARGS *args, char *result,
                             unsigned long *length, char *is_null, char *error)
{
    return address_part(initid, args, result, length, is_null, error, 0);
}

UDF_LIFECYCLE(email_domain, udf_init_normal)

UDF_EXPORT char *email_domain(UDF_INIT *initid, UDF_ARGS *args, char *result,
                              unsigned long *length, char *is_null, char *error)
{
    return address_part(initid, args, result, length, is_null, error, 1);
}
