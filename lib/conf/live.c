/* `conf audit --live HOST`: the certificate each configured port sends,
 * through lib/tls, against the leaf of the file the configuration names
 * for it (by SHA-256 of the DER, as `tls check` and `cert lint` print it). */
#include "internal.h"

#include "mailsec/cert.h"
#include "mailsec/tls.h"

#include "core/lazy_openssl.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ms_status cf_live_add(cf_live_ports *l, unsigned port, int implicit, int protocol,
                      const char *cert_files, const char *where)
{
    if (where == NULL) /* its "FILE:LINE" could not be made */
        return MS_ERR_NOMEM;
    if (l->count >= sizeof l->items / sizeof l->items[0] || port == 0 || port > 65535)
        return MS_OK;
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i].port == port)
            return MS_OK; /* one listener per port; the first configured wins */
    cf_live_port *p = &l->items[l->count];
    p->port = port;
    p->implicit = implicit;
    p->protocol = protocol;
    p->cert_files = ms_strdup(cert_files ? cert_files : "");
    p->where = ms_strdup(where);
    if (p->cert_files && p->where) {
        l->count++;
        return MS_OK;
    }
    free(p->cert_files);
    free(p->where);
    return MS_ERR_NOMEM;
}

void cf_live_free(cf_live_ports *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].cert_files);
        free(l->items[i].where);
    }
    l->count = 0;
}

/* The lower-case hex SHA-256 of the first certificate (the leaf) in file;
 * 0 when it has none or cannot be read (*nomem set when memory ran out). */
static int leaf_of_file(const char *file, char hex[65], int *nomem)
{
    size_t len;
    char *error = NULL, *text;
    ms_status st = cf_read_file(file, &text, &len, &error);
    free(error);
    *nomem |= st == MS_ERR_NOMEM;
    if (st != MS_OK)
        return 0;
    ms_cert_pem_file pem;
    ms_diag_list ignored = MS_DIAG_LIST_INIT; /* the file checks report the PEM text */
    st = ms_cert_pem_scan(text, len, file, &pem, &ignored);
    ms_diag_list_free(&ignored);
    *nomem |= st == MS_ERR_NOMEM;
    int found = 0;
    for (size_t b = 0; st == MS_OK && b < pem.count && !found; b++) {
        const ms_cert_pem_block *blk = &pem.blocks[b];
        unsigned char md[32];
        unsigned int md_len = 0;
        if (blk->kind != MS_CERT_PEM_CERTIFICATE || blk->der == NULL ||
            !EVP_Digest(blk->der, blk->der_len, md, &md_len, EVP_sha256(), NULL) || md_len != 32)
            continue;
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        found = 1;
    }
    if (st == MS_OK)
        ms_cert_pem_file_free(&pem);
    free(text);
    return found;
}

/* Whether the served leaf (hex SHA-256) is one that files configures: a
 * list, as smtpd_tls_chain_files takes, where each file is one chain (an
 * RSA and an ECDSA one, say: the server picks by what the client offers).
 * 0 when no file has a readable certificate; else 1 with *matches set, and
 * the first file and its leaf for the finding. *nomem set when memory ran out. */
static int configured_leaf(const char *files, const char *served, int *matches, char first_hex[65],
                           char **first_file, int *nomem)
{
    char *copy = ms_strdup(files);
    *nomem |= copy == NULL;
    int any = 0;
    *matches = 0;
    for (char *save = NULL, *f = copy ? strtok_r(copy, " \t,", &save) : NULL; f && !*matches;
         f = strtok_r(NULL, " \t,", &save)) {
        char hex[65];
        if (!leaf_of_file(f, hex, nomem))
            continue;
        if (!any) {
            memcpy(first_hex, hex, sizeof hex);
            *first_file = ms_strdup(f);
            *nomem |= *first_file == NULL;
        }
        any = 1;
        *matches = served != NULL && strcmp(served, hex) == 0;
    }
    free(copy);
    return any;
}

/* What a port that gave no certificate did, for the finding. */
static const char *state_text(ms_tls_port_state state)
{
    switch (state) {
    case MS_TLS_PORT_CLOSED: return "closed: the connection was refused, nothing listens";
    case MS_TLS_PORT_UNREACHABLE: return "unreachable: no connection within the time-out";
    case MS_TLS_PORT_NO_TLS: return "it answers, but TLS could not be set up";
    case MS_TLS_PORT_TLS: break;
    }
    return "TLS was set up, but no certificate was sent";
}

static ms_tls_mode mode_of(const cf_live_port *p)
{
    if (p->implicit)
        return MS_TLS_IMPLICIT;
    return p->protocol == 1 ? MS_TLS_IMAP : p->protocol == 2 ? MS_TLS_POP3 : MS_TLS_SMTP;
}

ms_status cf_live_check(ms_ctx *ctx, const char *host, const char *ca_file, const cf_live_ports *l,
                        ms_diag_list *d, char **error)
{
    if (l->count == 0)
        return MS_OK;
    ms_tls_port ports[64];
    for (size_t i = 0; i < l->count; i++)
        ports[i] = (ms_tls_port){(uint16_t)l->items[i].port, mode_of(&l->items[i])};
    /* only the certificate is wanted: no version probes, no injection test */
    ms_tls_check_opts o = {.ca_file = ca_file, .skip_versions = 1, .skip_injection = 1};
    ms_tls_check_result *r = NULL;
    ms_status st = ms_tls_check(ctx, host, ports, l->count, &o, &r);
    if (st == MS_OK && (r == NULL || r->count != l->count))
        st = MS_ERR_IO; /* a result per port asked for, in order */
    if (st != MS_OK) {
        /* no port was judged: never a silent pass */
        *error = ms_asprintf("--live %s: the ports could not be checked (%s)", host,
                             ms_status_str(st));
        ms_tls_check_result_free(r);
        return st;
    }
    int nomem = 0; /* a finding or a file lost for want of memory: the check says so */
    for (size_t i = 0; i < l->count; i++) {
        const ms_tls_port_result *pr = &r->ports[i];
        const cf_live_port *want = &l->items[i];
        if (pr->state != MS_TLS_PORT_TLS || pr->chain_count == 0) {
            nomem |= ms_diag_add(d, CF_DEF(CF_LIVE_NO_TLS), want->where, -1, "%s port %u (%s): %s",
                                 host, want->port, ms_tls_mode_str(mode_of(want)),
                                 state_text(pr->state)) == MS_ERR_NOMEM;
            continue;
        }
        char hex[65];
        char *file = NULL;
        int matches;
        if (!configured_leaf(want->cert_files, pr->cert.fingerprint_sha256, &matches, hex, &file,
                             &nomem))
            continue; /* no readable certificate: the file checks say so */
        if (pr->cert.fingerprint_sha256 && !matches && file != NULL)
            nomem |= ms_diag_add(d, CF_DEF(CF_LIVE_MISMATCH), want->where, -1,
                                 "%s port %u sends %s, valid until %s (SHA-256 %.16s...); the "
                                 "configuration names %s (SHA-256 %.16s...)",
                                 host, want->port,
                                 pr->cert.subject ? pr->cert.subject : "a certificate",
                                 pr->cert.not_after ? pr->cert.not_after : "?",
                                 pr->cert.fingerprint_sha256, file, hex) == MS_ERR_NOMEM;
        free(file);
    }
    ms_tls_check_result_free(r);
    return nomem ? MS_ERR_NOMEM : MS_OK;
}
