/* mailsec conf: Postfix and Dovecot TLS configuration.
 *
 * Three parsers that keep the file and line of every setting (main.cf,
 * master.cf, Dovecot's configuration with its includes), an audit of what
 * they say about TLS and authentication (`mailsec conf audit`), and a
 * generator of the settings a Mozilla profile asks for, as snippets or as
 * edits of the files in place (`mailsec conf generate`).
 */
#ifndef MAILSEC_CONF_H
#define MAILSEC_CONF_H

#include <stddef.h>

#include "mailsec/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits of the parsers (MS_ERR_LIMIT beyond). */
enum {
    MS_CONF_MAX_BYTES = 4 << 20,    /* one configuration file */
    MS_CONF_MAX_SETTINGS = 20000,   /* settings in one parse (all included files) */
    MS_CONF_MAX_DEPTH = 32,         /* nested Dovecot sections, and includes */
    MS_CONF_MAX_FILES = 256,        /* Dovecot files read through !include */
    MS_CONF_MAX_EXPANSION = 64 * 1024, /* a main.cf value after $name expansion */
    MS_CONF_MAX_LOOKUPS = 1000,     /* $name lookups in one expansion (real values: a few) */
    MS_CONF_MAX_FINDINGS = 64       /* parse findings per parse; the rest are dropped */
};

/* One "name = value" with where it was written. */
typedef struct ms_conf_setting {
    char *name;
    char *value;   /* white space around it trimmed; continuation lines joined by one space */
    char *file;
    size_t line;   /* from 1: the line the setting starts on */
} ms_conf_setting;

/* ---- Postfix main.cf ---- */

typedef struct ms_conf_maincf {
    ms_conf_setting *settings; /* in file order; a later one of the same name wins */
    size_t count;
} ms_conf_maincf;

/* Parses main.cf text (postconf(5), "SYNTAX"): "name = value", lines that
 * start with white space continue the previous one, '#' lines and blank
 * lines are comments. file names the text in findings. Lines that are not
 * settings give conf.syntax findings ("FILE:LINE"). */
ms_status ms_conf_maincf_parse(const char *text, size_t len, const char *file, ms_conf_maincf *out,
                               ms_diag_list *diags);
void ms_conf_maincf_free(ms_conf_maincf *cf);
/* The setting in force for name (the last one), or NULL. */
const ms_conf_setting *ms_conf_maincf_get(const ms_conf_maincf *cf, const char *name);
/* The value of name with $name, ${name} and $(name) expanded from cf, then
 * from Postfix's defaults for the TLS parameters mailsec reads; the
 * conditional forms ${name?text} and ${name:text} too. NULL when name is
 * neither set nor known, or the expansion passes MS_CONF_MAX_EXPANSION or
 * MS_CONF_MAX_LOOKUPS.
 * The caller frees the result. */
char *ms_conf_maincf_value(const ms_conf_maincf *cf, const char *name);
/* Postfix 3.7's default of a parameter mailsec knows, or NULL. */
const char *ms_conf_postfix_default(const char *name);

/* ---- Postfix master.cf ---- */

typedef struct ms_conf_service {
    char *name;      /* "submission", "465", "127.0.0.1:smtps", "smtp" */
    char *type;      /* inet, unix, unix-dgram, fifo, pass */
    char *private_, *unpriv, *chroot, *wakeup, *maxproc; /* as written ("-" = default) */
    char *command;   /* "smtpd" */
    ms_conf_setting *overrides; /* the -o name=value options, file and line of each */
    size_t override_count;
    char **args;     /* the other command arguments */
    size_t arg_count;
    char *file;
    size_t line;
} ms_conf_service;

typedef struct ms_conf_mastercf {
    ms_conf_service *services;
    size_t count;
} ms_conf_mastercf;

/* Parses master.cf text (master(5)): eight fields then the command's
 * arguments, continuation lines starting with white space, comments.
 * "-o name=value" and "-o { name = value }" become overrides. */
ms_status ms_conf_mastercf_parse(const char *text, size_t len, const char *file,
                                 ms_conf_mastercf *out, ms_diag_list *diags);
void ms_conf_mastercf_free(ms_conf_mastercf *cf);
/* The last -o override of name in the service, or NULL. */
const ms_conf_setting *ms_conf_service_override(const ms_conf_service *s, const char *name);
/* The TCP port an inet service listens on: "submission" 587, "smtps" and
 * "submissions" 465, "smtp" 25, digits as written; 0 when unknown. */
int ms_conf_service_port(const ms_conf_service *s);

/* ---- Dovecot ---- */

typedef struct ms_conf_dovecot_setting {
    char *section; /* "" at the top; "service imap-login/inet_listener imaps", "protocol imap" */
    char *name;
    char *value;   /* for "<file" values the file name, without the "<" */
    int from_file; /* the value was "<file" (2.3) */
    char *file;
    size_t line;
} ms_conf_dovecot_setting;

typedef struct ms_conf_dovecot {
    ms_conf_dovecot_setting *settings; /* in reading order, includes inlined */
    size_t count;
    char **files;   /* every file read, the main one first */
    size_t file_count;
} ms_conf_dovecot;

/* Parses Dovecot configuration text (doveconf(1)): "key = value",
 * sections "name {" and "name value {" closed by "}", "!include" and
 * "!include_try" with globs relative to the including file,
 * "key = <file" values, 2.3 and 2.4 syntax. follow_includes 0 records the
 * include lines as settings named "!include" without reading them (the
 * fuzzer's mode). */
ms_status ms_conf_dovecot_parse(const char *text, size_t len, const char *file,
                                int follow_includes, ms_conf_dovecot *out, ms_diag_list *diags);
/* Reads path and everything it includes. MS_ERR_IO when path cannot be read. */
ms_status ms_conf_dovecot_read(const char *path, ms_conf_dovecot *out, ms_diag_list *diags);
void ms_conf_dovecot_free(ms_conf_dovecot *cf);
/* The last top-level setting of name, or NULL. */
const ms_conf_dovecot_setting *ms_conf_dovecot_get(const ms_conf_dovecot *cf, const char *name);
/* 24 when the configuration is in 2.4 syntax (dovecot_config_version),
 * else 23. */
int ms_conf_dovecot_syntax(const ms_conf_dovecot *cf);

/* ---- profiles (Mozilla's Server Side TLS guidelines, version 5.7) ---- */

typedef enum ms_conf_profile {
    MS_CONF_PROFILE_NONE = 0,
    MS_CONF_PROFILE_INTERMEDIATE, /* TLS 1.2 and 1.3, the intermediate cipher list */
    MS_CONF_PROFILE_MODERN        /* TLS 1.3 only */
} ms_conf_profile;

/* "intermediate" | "modern" -> profile; MS_CONF_PROFILE_NONE otherwise. */
ms_conf_profile ms_conf_profile_from_name(const char *name);
/* Mozilla's intermediate TLS 1.2 cipher list (OpenSSL names). */
extern const char MS_CONF_MOZILLA_INTERMEDIATE_CIPHERS[];

/* ---- audit ---- */

typedef struct ms_conf_audit_opts {
    const char *postfix_dir;   /* holds main.cf and master.cf; NULL: Postfix not audited */
    const char *dovecot_conf;  /* dovecot.conf (or a directory holding it); NULL: not audited */
    ms_conf_profile profile;   /* NONE: only the problems, no profile comparison */
    int dovecot_version;       /* 22, 23 or 24; 0: from the syntax (23 or 24) */
    int postfix_version;       /* 30..39, for the names the advice uses; 0: 3.7 (Debian 12) */
    const char *ca_file;       /* trust these CAs for the certificate checks; NULL: system */
    const char *live_host;     /* compare the configured certificates with what HOST's ports
                                  send (lib/tls); NULL: no connections */
} ms_conf_audit_opts;

typedef struct ms_conf_audit_result {
    int postfix_read;          /* main.cf was read */
    int dovecot_read;
    int dovecot_version;       /* as audited: 22, 23 or 24 */
    size_t postfix_settings;   /* settings in main.cf */
    size_t postfix_services;   /* services in master.cf */
    size_t dovecot_settings;
    size_t dovecot_files;
    size_t live_ports;         /* ports checked on live_host */
    char *error;               /* why a file could not be read, or NULL */
} ms_conf_audit_result;

/* Reads the files and reports conf.* (and cert.* for the certificate files;
 * with live_host, conf.live-* for the ports the configuration listens on)
 * findings, each located "FILE:LINE". MS_ERR_IO (result->error says which
 * file) when a configuration asked for cannot be read; MS_ERR_NOMEM when
 * memory ran out anywhere in the audit (never a shorter list of findings). */
ms_status ms_conf_audit(ms_ctx *ctx, const ms_conf_audit_opts *opts, ms_conf_audit_result *result,
                        ms_diag_list *diags);
void ms_conf_audit_result_free(ms_conf_audit_result *result);

/* ---- generate ---- */

typedef enum ms_conf_server { MS_CONF_POSTFIX, MS_CONF_DOVECOT } ms_conf_server;

typedef struct ms_conf_generate_opts {
    ms_conf_server server;
    int version;              /* Postfix: 30..39 (3.0..3.9); Dovecot: 22, 23 or 24 */
    ms_conf_profile profile;
    const char *cert_file;    /* leaf (+ intermediates) */
    const char *key_file;
    const char *chain_file;   /* optional: Postfix smtpd_tls_chain_files (key, leaf, chain) */
} ms_conf_generate_opts;

/* The snippets: for Postfix main.cf settings and the master.cf services;
 * for Dovecot the 10-ssl.conf text (2.2, 2.3 or 2.4 names). A Dovecot 2.3
 * or 2.4 snippet's cipher list has no DHE suites: they need DH parameters
 * (ssl_dh), which a snippet cannot see; ms_conf_plan_edits keeps them
 * when the configuration sets ssl_dh. */
typedef struct ms_conf_snippets {
    char *main_cf;    /* Postfix: "name = value" lines; NULL for Dovecot */
    char *master_cf;  /* Postfix: submission and submissions services */
    char *dovecot;    /* Dovecot: the 10-ssl.conf settings */
    char *error;      /* why nothing was made (bad version), or NULL */
} ms_conf_snippets;

ms_status ms_conf_generate(const ms_conf_generate_opts *opts, ms_conf_snippets *out);
void ms_conf_snippets_free(ms_conf_snippets *s);

/* One file as --apply would leave it. */
typedef struct ms_conf_edit {
    char *path;
    char *old_text;   /* NULL when the file does not exist yet */
    char *new_text;
    int changed;
    char *backup;     /* set by ms_conf_apply_edits: the file replaced, kept as
                         FILE.mailsec-bak.N (next to the target of a symlink) */
} ms_conf_edit;

typedef struct ms_conf_edits {
    ms_conf_edit *files;
    size_t count;
    char *error;
} ms_conf_edits;

/* The edits that bring the files under dir (Postfix: main.cf, master.cf;
 * Dovecot: conf.d/10-ssl.conf, or dovecot.conf without conf.d) to the
 * generated settings: a setting already there is changed on its line,
 * deprecated names it replaces are commented out ("#mailsec: "), new
 * ones are appended; comments and everything else stay. Nothing written. */
ms_status ms_conf_plan_edits(const ms_conf_generate_opts *opts, const char *dir, ms_conf_edits *out);
/* Replaces the changed files, all or none (docs/conf.md): each keeps its
 * owner, group and mode, a symlink is written through to its target, and
 * the file replaced is kept as FILE.mailsec-bak.N (edits->files[i].backup).
 * *error says why on failure, and the state of every file. */
ms_status ms_conf_apply_edits(ms_conf_edits *edits, char **error);
void ms_conf_edits_free(ms_conf_edits *e);

#ifdef __cplusplus
}
#endif
#endif
