/* The PostgreSQL face of lib/email: is_email, email_diagnosis,
 * email_normalize, email_local and email_domain (see email--1.0.sql and
 * docs/sql.md).
 *
 * Thin glue only: every answer comes from ms_email_check() or
 * ms_email_normalize(). What this file adds is what PostgreSQL needs:
 *  - text in the database encoding is converted to UTF-8 for the library
 *    and results back (a no-op in UTF8 and SQL_ASCII databases);
 *  - an unknown profile name is an SQL error, never a silent default;
 *  - the functions are STRICT, so PostgreSQL itself answers NULL for NULL.
 * Nothing here keeps state between calls: the functions are IMMUTABLE and
 * PARALLEL SAFE as declared.
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include <stdlib.h>
#include <string.h>

#include <mailsec/email.h>

PG_MODULE_MAGIC;

/* An argument converted to UTF-8; utf8 may point into the argument. */
typedef struct pg_address {
    const char *utf8;
    size_t len;
} pg_address;

static pg_address address_arg(FunctionCallInfo fcinfo)
{
    text *arg = PG_GETARG_TEXT_PP(0);
    const char *raw = VARDATA_ANY(arg);
    int raw_len = VARSIZE_ANY_EXHDR(arg);
    char *conv = pg_server_to_any(raw, raw_len, PG_UTF8);
    pg_address a = {conv, conv == raw ? (size_t)raw_len : strlen(conv)};
    return a;
}

/* The optional second argument; smtp when the one-argument form was called. */
static ms_email_profile profile_arg(FunctionCallInfo fcinfo)
{
    ms_email_profile profile = MS_EMAIL_PROFILE_SMTP;
    char *name;

    if (PG_NARGS() < 2)
        return profile;
    name = text_to_cstring(PG_GETARG_TEXT_PP(1));
    if (!ms_email_profile_parse(name, &profile))
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("unknown e-mail address profile \"%s\"", name),
                 errhint("The profiles are smtp (the default), rfc5322, html5 and intl.")));
    pfree(name);
    return profile;
}

/* UTF-8 bytes -> text in the database encoding. */
static text *utf8_to_text(const char *s, size_t len)
{
    char *conv = pg_any_to_server(s, (int)len, PG_UTF8);
    return cstring_to_text_with_len(conv, conv == s ? (int)len : (int)strlen(conv));
}

/* The check of the address argument under the profile argument. */
static ms_email_result checked_arg(FunctionCallInfo fcinfo)
{
    ms_email_profile profile = profile_arg(fcinfo);
    pg_address a = address_arg(fcinfo);
    ms_email_result r;

    ms_email_check(a.utf8, a.len, profile, &r);
    return r;
}

PG_FUNCTION_INFO_V1(ms_pg_is_email);
Datum ms_pg_is_email(PG_FUNCTION_ARGS)
{
    PG_RETURN_BOOL(checked_arg(fcinfo).valid != 0);
}

PG_FUNCTION_INFO_V1(ms_pg_email_diagnosis);
Datum ms_pg_email_diagnosis(PG_FUNCTION_ARGS)
{
    PG_RETURN_TEXT_P(cstring_to_text(checked_arg(fcinfo).diagnosis));
}

/* The normal form, in palloc'd memory, or NULL when the address is not
 * valid under the profile. */
static char *normal_form(const pg_address *a, ms_email_profile profile)
{
    char *out = NULL, *copy;
    ms_status st = ms_email_normalize(a->utf8, a->len, profile, &out);

    if (st == MS_ERR_INVALID)
        return NULL;
    if (st != MS_OK)
        ereport(ERROR, (errcode(st == MS_ERR_NOMEM ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INTERNAL_ERROR),
                        errmsg("e-mail address normalization failed (mailsec status %d)", (int)st)));
    /* Into palloc'd memory before anything that may raise an error, so the
     * library's buffer is never leaked by a longjmp. */
    copy = pstrdup(out);
    free(out);
    return copy;
}

PG_FUNCTION_INFO_V1(ms_pg_email_normalize);
Datum ms_pg_email_normalize(PG_FUNCTION_ARGS)
{
    ms_email_profile profile = profile_arg(fcinfo);
    pg_address a = address_arg(fcinfo);
    char *normal = normal_form(&a, profile);

    if (!normal)
        PG_RETURN_NULL();
    PG_RETURN_TEXT_P(utf8_to_text(normal, strlen(normal)));
}

/* email_local / email_domain: the part of the normal form, as SQLite's
 * functions give it, so that GROUP BY email_domain(x) groups Example.COM
 * with example.com. The parts come from parsing the normal form again,
 * not from splitting at an "@": a quoted local part and a domain literal
 * may both hold one. */
static Datum address_part(FunctionCallInfo fcinfo, int want_domain)
{
    ms_email_profile profile = profile_arg(fcinfo);
    pg_address a = address_arg(fcinfo);
    char *normal = normal_form(&a, profile);
    ms_email_result r;

    if (!normal)
        PG_RETURN_NULL();
    ms_email_check(normal, strlen(normal), profile, &r);
    if (!r.valid)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                        errmsg("the normal form of a valid e-mail address is not valid: \"%s\"", normal)));
    if (want_domain)
        PG_RETURN_TEXT_P(utf8_to_text(normal + r.domain_start, r.domain_len));
    PG_RETURN_TEXT_P(utf8_to_text(normal + r.local_start, r.local_len));
}

PG_FUNCTION_INFO_V1(ms_pg_email_local);
Datum ms_pg_email_local(PG_FUNCTION_ARGS)
{
    return address_part(fcinfo, 0);
}

PG_FUNCTION_INFO_V1(ms_pg_email_domain);
Datum ms_pg_email_domain(PG_FUNCTION_ARGS)
{
    return address_part(fcinfo, 1);
}
