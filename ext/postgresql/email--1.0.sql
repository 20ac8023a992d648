-- mailsec email extension, version 1.0 (docs/sql.md).
-- Every function is a pure function of its arguments: IMMUTABLE (usable in
-- indexes, CHECK constraints and generated columns), STRICT (NULL in, NULL
-- out) and PARALLEL SAFE. profile is one of smtp (the default), rfc5322,
-- html5, intl; any other name is an error.

\echo Use "CREATE EXTENSION email" to load this file. \quit

CREATE FUNCTION is_email(address text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ms_pg_is_email'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION is_email(address text, profile text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ms_pg_is_email'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION email_diagnosis(address text) RETURNS text
    AS 'MODULE_PATHNAME', 'ms_pg_email_diagnosis'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION email_diagnosis(address text, profile text) RETURNS text
    AS 'MODULE_PATHNAME', 'ms_pg_email_diagnosis'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION email_normalize(address text) RETURNS text
    AS 'MODULE_PATHNAME', 'ms_pg_email_normalize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION email_normalize(address text, profile text) RETURNS text
    AS 'MODULE_PATHNAME', 'ms_pg_email_normalize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION email_local(address text) RETURNS text
    AS 'MODULE_PATHNAME', 'ms_pg_email_local'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION email_local(address text, profile text) RETURNS text
    AS 'MODULE_PATHNAME', 'ms_pg_email_local'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION email_domain(address text) RETURNS text
    AS 'MODULE_PATHNAME', 'ms_pg_email_domain'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION email_domain(address text, profile text) RETURNS text
    AS 'MODULE_PATHNAME', 'ms_pg_email_domain'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- A column type that holds only addresses valid under the smtp profile.
-- NULL passes the CHECK (as for any domain); add NOT NULL where needed.
CREATE DOMAIN email AS text CHECK (is_email(VALUE));

COMMENT ON FUNCTION is_email(text) IS 'true when the address is valid under the smtp profile';
COMMENT ON FUNCTION is_email(text, text) IS 'true when the address is valid under the profile (smtp, rfc5322, html5, intl)';
COMMENT ON FUNCTION email_diagnosis(text) IS 'the most significant finding, a stable code such as email.valid (smtp profile)';
COMMENT ON FUNCTION email_diagnosis(text, text) IS 'the most significant finding, a stable code such as email.valid';
COMMENT ON FUNCTION email_normalize(text) IS 'the normal form (NFC local part, lower-case A-label domain), NULL when invalid (smtp profile)';
COMMENT ON FUNCTION email_normalize(text, text) IS 'the normal form (NFC local part, lower-case A-label domain), NULL when invalid';
COMMENT ON FUNCTION email_local(text) IS 'the local part of the normal form, NULL when invalid (smtp profile)';
COMMENT ON FUNCTION email_local(text, text) IS 'the local part of the normal form, NULL when invalid';
COMMENT ON FUNCTION email_domain(text) IS 'the domain of the normal form (lower-case A-labels), NULL when invalid (smtp profile)';
COMMENT ON FUNCTION email_domain(text, text) IS 'the domain of the normal form (lower-case A-labels), NULL when invalid';
COMMENT ON DOMAIN email IS 'text holding an e-mail address valid under the smtp profile';
