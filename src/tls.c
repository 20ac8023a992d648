/* mailsec tls: check TLS on every mail port of a host. Argument parsing and
 * rendering only; lib/tls does the work (and lib/cert checks the chains). */
#include "cli.h"
#include "commands.h"
#include "tls_options.h"

#include "mailsec/tls.h"

#include <stdlib.h>
#include <string.h>

static const char GROUP_USAGE[] =
    "Usage: mailsec tls <command> [options]\n\n"
    "Commands:\n"
    "  check HOST            TLS on every mail port: STARTTLS dialogs, versions, ciphers,\n"
    "                        certificate chains, STARTTLS injection, DANE\n"
    "  check --mx DOMAIN     the same on port 25 of every MX host of DOMAIN, graded\n\n"
    "'mailsec tls <command> --help' for a command's options.\n";

static const char CHECK_USAGE[] =
    "Usage: mailsec tls check [options] HOST\n"
    "       mailsec tls check --mx [options] DOMAIN\n\n"
    "Connects to the mail ports of HOST all at once, on every address of HOST (its\n"
    "A and AAAA records, looked up with --resolver when given) - by default 25, 587\n"
    "(SMTP STARTTLS), 465 (TLS), 143 (IMAP STARTTLS), 993, 110 (POP3 STLS), 995 and\n"
    "4190 (ManageSieve STARTTLS) - and checks on each: that STARTTLS is offered and\n"
    "works, the TLS versions accepted (1.0 to 1.3, one by one), the cipher suites each\n"
    "version accepts (in the server's order, by class: null-anon-export, rc4,\n"
    "64-bit-block, no-forward-secrecy, cbc-sha1, cbc, aead-fs), the key exchange\n"
    "groups and DH size, the cipher, group and\n"
    "signature negotiated, the certificate chain as sent (order, missing\n"
    "intermediates, root sent, verification, host name, expiry, key, SHA-1), whether\n"
    "the server answers commands injected before STARTTLS (CVE-2011-0411), and, with\n"
    "--dane, whether the DNSSEC-signed TLSA records at _25._tcp.NAME match\n"
    "(RFC 7672), and, with --mta-sts, whether a sender applying that domain's\n"
    "MTA-STS policy (RFC 8461) would deliver to the SMTP ports. It also says when\n"
    "a password would be accepted before STARTTLS (SMTP AUTH, IMAP LOGIN, POP3 USER).\n\n"
    "A default port that is closed is a note; a port given with --port that is\n"
    "closed is an error. Exit status: 0 no errors, 1 errors, 2 no port accepted\n"
    "a connection (or the host has no address): nothing could be checked.\n\n"
    "With --mx, the MX hosts of DOMAIN (by preference, at most 10; the domain\n"
    "itself when it has no MX records) are checked at once, each on port 25 (or\n"
    "the --port list) on every address, with its own name as servername, DANE\n"
    "and DOMAIN's MTA-STS policy (--mta-sts to name another policy domain); each\n"
    "host gets a grade, A (fine), B (warnings), F (errors), ? (nothing answered),\n"
    "and the domain the worst. Exit status 2 when the MX lookup failed or no host\n"
    "answered. --timeout SECONDS bounds every step: connect, each reply, the\n"
    "handshake.\n\n";


enum { MAX_CONNECT_TO = 8 };

/* A --port argument as given: the mode is settled after parsing, when
 * --starttls is known. */
typedef struct port_arg {
    unsigned port;
    int mode; /* -1: not given */
} port_arg;

typedef struct check_args {
    port_arg ports[MS_TLS_MAX_PORTS];
    size_t count;
    int starttls; /* -1: not given */
    ms_tls_check_opts opts;
    const char *https_ca;
    const char *connect_to[MAX_CONNECT_TO];
    size_t connect_to_count;
    int mx; /* the argument is a domain whose MX hosts are checked */
} check_args;

static int add_port(check_args *a, const char *value)
{
    if (a->count == MS_TLS_MAX_PORTS)
        return 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", value);
    char *slash = strchr(buf, '/');
    int mode = -1;
    if (slash) {
        *slash = '\0';
        ms_tls_mode m;
        if (ms_tls_mode_parse(slash + 1, &m) != MS_OK)
            return 0;
        mode = (int)m;
    }
    unsigned long port;
    if (!cli_parse_uint(buf, 65535, &port) || port == 0)
        return 0;
    a->ports[a->count].port = (unsigned)port;
    a->ports[a->count].mode = mode;
    a->count++;
    return 1;
}

static int check_option(void *arg, int opt, const char *value)
{
    check_args *a = arg;
    unsigned long n;
    ms_tls_mode m;
    switch (opt) {
    case OPT_PORT:
        return add_port(a, value);
    case OPT_STARTTLS:
        if (ms_tls_mode_parse(value, &m) != MS_OK)
            return 0;
        a->starttls = (int)m;
        return 1;
    case OPT_SERVERNAME:
        a->opts.servername = value;
        return 1;
    case OPT_CA:
        a->opts.ca_file = value;
        return 1;
    case OPT_DANE:
        a->opts.dane = 1;
        return 1;
    case OPT_DAYS_WARNING:
        if (!cli_parse_uint(value, 3650, &n) || n == 0)
            return 0;
        a->opts.days_warning = (int)n;
        return 1;
    case OPT_NO_VERSIONS:
        a->opts.skip_versions = 1;
        return 1;
    case OPT_NO_INJECTION:
        a->opts.skip_injection = 1;
        return 1;
    case OPT_NO_CIPHERS:
        a->opts.ciphers = 0;
        return 1;
    case OPT_MTA_STS:
        if (*value == '\0')
            return 0;
        a->opts.mta_sts = value;
        return 1;
    case OPT_HTTPS_CA:
        a->https_ca = value;
        return 1;
    case OPT_HTTPS_CONNECT_TO:
        if (a->connect_to_count == MAX_CONNECT_TO)
            return 0;
        a->connect_to[a->connect_to_count++] = value;
        return 1;
    case OPT_MX:
        a->mx = 1;
        return 1;
    }
    return CLI_OPTION_UNHANDLED;
}

/* ---- output ---- */

static json_t *json_versions(unsigned bits)
{
    json_t *a = json_array();
    for (unsigned b = MS_TLS_V1_0; b <= MS_TLS_V1_3; b <<= 1)
        if (bits & b)
            json_array_append_new(a, json_string(ms_tls_version_str(b)));
    return a;
}

static json_t *json_suite(const ms_tls_cipher *s)
{
    char id[8];
    snprintf(id, sizeof id, "0x%04X", s->id);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "iana", json_string(s->iana));
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "bits", json_integer(s->bits));
    json_object_set_new(o, "class", json_string(ms_tls_cipher_class_str(s->cls)));
    return o;
}

/* The enumeration; null when it did not run. */
static json_t *json_ciphers(const ms_tls_port_result *r)
{
    if (r->ciphers == NULL)
        return json_null();
    json_t *versions = json_array();
    for (size_t v = 0; v < r->cipher_versions; v++) {
        const ms_tls_version_ciphers *vc = &r->ciphers[v];
        json_t *suites = json_array();
        for (size_t i = 0; i < vc->count; i++)
            json_array_append_new(suites, json_suite(&vc->ciphers[i]));
        json_t *o = json_object();
        json_object_set_new(o, "version", json_string(ms_tls_version_str(vc->version)));
        json_object_set_new(o, "server_order",
                            vc->server_order < 0 ? json_null() : json_boolean(vc->server_order));
        json_object_set_new(o, "complete", json_boolean(vc->complete));
        json_object_set_new(o, "suites", suites);
        json_array_append_new(versions, o);
    }
    json_t *groups = json_array();
    for (size_t i = 0; i < r->group_count; i++)
        json_array_append_new(groups, json_string(r->groups[i]));
    json_t *o = json_object();
    json_object_set_new(o, "versions", versions);
    json_object_set_new(o, "groups", groups);
    json_object_set_new(o, "dh_bits", r->dh_bits > 0 ? json_integer(r->dh_bits) : json_null());
    json_object_set_new(o, "handshakes", json_integer(r->handshakes));
    return o;
}

static json_t *json_certificate(const ms_tls_port_result *r)
{
    if (r->chain_count == 0)
        return json_null();
    const ms_cert_chain_info *i = &r->cert;
    json_t *o = json_cert_info(i);
    json_object_set_new(o, "names", json_str_or_null(i->names));
    json_object_set_new(o, "verified", json_boolean(i->verified));
    json_object_set_new(o, "chain_sent", json_integer((json_int_t)r->chain_count));
    return o;
}

static const char *injection_str(ms_tls_injection i)
{
    return i == MS_TLS_INJECTION_SAFE ? "safe" : i == MS_TLS_INJECTION_VULNERABLE ? "vulnerable" : NULL;
}

static const char *verdict_str(ms_tls_mtasts_verdict v)
{
    return v == MS_TLS_MTASTS_PORT_PASS ? "pass" : v == MS_TLS_MTASTS_PORT_FAIL ? "fail" : NULL;
}

static json_t *json_port_mtasts(const ms_tls_port_result *r)
{
    if (r->mtasts == MS_TLS_MTASTS_PORT_NOT_CHECKED)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "result", json_string(verdict_str(r->mtasts)));
    json_object_set_new(o, "certificate_valid", json_boolean(r->mtasts_cert_valid == 1));
    return o;
}

/* The policy as found; null without --mta-sts. */
static json_t *json_mtasts(const ms_tls_mtasts *m)
{
    if (m->state == MS_TLS_MTASTS_NOT_CHECKED)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "domain", json_str_or_null(m->domain));
    json_object_set_new(o, "state", json_string(ms_tls_mtasts_state_str(m->state)));
    json_object_set_new(o, "id", json_str_or_null(m->id));
    const ms_audit_mtasts_policy *p = m->state == MS_TLS_MTASTS_POLICY ? m->policy : NULL;
    json_object_set_new(o, "mode", p ? json_string(ms_audit_mtasts_mode_str(p->mode)) : json_null());
    json_object_set_new(o, "max_age", p ? json_integer(p->max_age) : json_null());
    json_t *mx = json_array();
    for (size_t i = 0; p && i < p->mx_count; i++)
        json_array_append_new(mx, json_string(p->mx[i]));
    json_object_set_new(o, "mx", p ? mx : (json_decref(mx), json_null()));
    json_object_set_new(o, "mx_host", json_str_or_null(m->mx_host));
    json_object_set_new(o, "mx_match", m->mx_match < 0 ? json_null() : json_boolean(m->mx_match));
    return o;
}

static json_t *json_port(const ms_tls_port_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "port", json_integer(r->port));
    json_object_set_new(o, "mode", json_string(ms_tls_mode_str(r->mode)));
    json_object_set_new(o, "state", json_string(ms_tls_port_state_str(r->state)));
    json_object_set_new(o, "address", json_str_or_null(r->address));
    json_object_set_new(o, "greeting", json_str_or_null(r->greeting));
    json_object_set_new(o, "starttls_offered",
                        r->mode == MS_TLS_IMPLICIT ? json_null() : json_boolean(r->starttls_offered));
    json_object_set_new(o, "version", json_str_or_null(r->version));
    json_object_set_new(o, "cipher", json_str_or_null(r->cipher));
    json_object_set_new(o, "group", json_str_or_null(r->group));
    json_object_set_new(o, "signature", json_str_or_null(r->signature));
    json_object_set_new(o, "versions_probed", json_versions(r->versions_probed));
    json_object_set_new(o, "versions_accepted", json_versions(r->versions_accepted));
    json_object_set_new(o, "ciphers", json_ciphers(r));
    json_object_set_new(o, "injection", json_str_or_null(injection_str(r->injection)));
    json_object_set_new(o, "dane", r->dane == MS_TLS_DANE_NOT_CHECKED
                                       ? json_null()
                                       : json_string(ms_tls_dane_state_str(r->dane)));
    json_object_set_new(o, "mta_sts", json_port_mtasts(r));
    json_object_set_new(o, "certificate", json_certificate(r));
    json_object_set_new(o, "seconds", json_real(r->seconds));
    json_object_set_new(o, "diagnostics", json_diags(&r->diags));
    return o;
}

static void print_versions(const cli_common *c, const ms_tls_port_result *r)
{
    if (r->versions_probed == 0)
        return;
    char accepted[64] = "", refused[64] = "";
    for (unsigned b = MS_TLS_V1_0; b <= MS_TLS_V1_3; b <<= 1) {
        if (!(r->versions_probed & b))
            continue;
        char *to = r->versions_accepted & b ? accepted : refused;
        size_t used = strlen(to);
        snprintf(to + used, 64 - used, "%s%s", used ? " " : "", ms_tls_version_str(b));
    }
    out_field(c, "versions", "accepted: %s%s%s", accepted[0] ? accepted : "none",
              refused[0] ? "; refused: " : "", refused);
}

/* One line per version: how many suites, whose order, how many of each
 * class (worst first); with -v every suite in the server's order. */
static void print_ciphers(const cli_common *c, const ms_tls_port_result *r)
{
    for (size_t v = 0; v < r->cipher_versions; v++) {
        const ms_tls_version_ciphers *vc = &r->ciphers[v];
        char classes[256] = "";
        for (int k = MS_TLS_CIPHER_NULL_ANON_EXPORT; k >= MS_TLS_CIPHER_AEAD_FS; k--) {
            size_t n = 0;
            for (size_t i = 0; i < vc->count; i++)
                n += vc->ciphers[i].cls == (ms_tls_cipher_class)k;
            size_t used = strlen(classes);
            if (n > 0)
                snprintf(classes + used, sizeof classes - used, "%s%zu %s", used ? ", " : "", n,
                         ms_tls_cipher_class_str((ms_tls_cipher_class)k));
        }
        const char *order = vc->server_order == 1   ? "server's order"
                            : vc->server_order == 0 ? "client's order"
                                                    : "one suite";
        out_field(c, ms_tls_version_str(vc->version), "%zu suite%s (%s%s)%s%s", vc->count,
                  vc->count == 1 ? "" : "s", order, vc->complete ? "" : ", incomplete",
                  classes[0] ? ": " : "", classes);
        for (size_t i = 0; c->verbose && i < vc->count; i++)
            out_field(c, "", "%s (%s, %d bits)", vc->ciphers[i].name,
                      ms_tls_cipher_class_str(vc->ciphers[i].cls), vc->ciphers[i].bits);
    }
    if (r->ciphers == NULL)
        return;
    char groups[256] = "";
    for (size_t i = 0; i < r->group_count; i++) {
        size_t used = strlen(groups);
        snprintf(groups + used, sizeof groups - used, "%s%s", i ? ", " : "", r->groups[i]);
    }
    if (groups[0])
        out_field(c, "groups", "%s", groups);
    if (r->dh_bits > 0)
        out_field(c, "DH", "%d bits", r->dh_bits);
    out_field(c, "handshakes", "%u to enumerate", r->handshakes);
}

/* Findings the checklist says with a line of its own ("not open to
 * STARTTLS command injection"...): not shown, and not counted, twice. */
static int said_by_checklist_line(const ms_diag *d)
{
    return strcmp(d->def->code, "tls.injection-safe") == 0 || strcmp(d->def->code, "tls.dane-match") == 0 ||
           strcmp(d->def->code, "tls.mtasts-pass") == 0;
}

/* The findings of list the checklist shows, appended to shown. */
static void add_shown(ms_diag_list *shown, const ms_diag_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        const ms_diag *d = &list->items[i];
        if (!said_by_checklist_line(d))
            ms_diag_add(shown, d->def, d->location, d->offset, "%s", d->message);
    }
}

/* A port's heading names its address when the host has several. */
static void print_port(const cli_common *c, const ms_tls_check_result *res,
                       const ms_tls_port_result *r)
{
    out_heading(c, "Port %u (%s%s)%s%s", r->port, ms_tls_mode_str(r->mode),
                r->mode == MS_TLS_IMPLICIT ? "" : " STARTTLS", res->address_count > 1 ? " on " : "",
                res->address_count > 1 ? r->address : "");
    ms_diag_list shown = MS_DIAG_LIST_INIT;
    add_shown(&shown, &r->diags);
    if (r->state == MS_TLS_PORT_CLOSED) {
        out_diags(c, &shown); /* tls.closed, or tls.closed-named for a port named */
        ms_diag_list_free(&shown);
        return;
    }
    if (r->greeting)
        out_field(c, "greeting", "%s", r->greeting);
    if (r->state == MS_TLS_PORT_TLS) {
        if (r->mode != MS_TLS_IMPLICIT)
            out_ok(c, "STARTTLS offered and accepted");
        out_ok(c, "TLS: %s, %s", r->version ? r->version : "?", r->cipher ? r->cipher : "?");
        if (r->group)
            out_field(c, "group", "%s", r->group);
        if (r->signature)
            out_field(c, "signature", "%s", r->signature);
        print_versions(c, r);
        print_ciphers(c, r);
        if (r->chain_count > 0) {
            const ms_cert_chain_info *i = &r->cert;
            out_field(c, "certificate", "%s", i->subject ? i->subject : "?");
            if (i->names)
                out_field(c, "names", "%s", i->names);
            out_field(c, "issuer", "%s", i->issuer ? i->issuer : "?");
            out_field(c, "expires", "%s (%ld days)", i->not_after ? i->not_after : "?", i->days_left);
            out_field(c, "key", "%s %d bits, %s", i->key_type ? i->key_type : "?", i->key_bits,
                      i->signature_algorithm ? i->signature_algorithm : "?");
            out_field(c, "chain", "%zu sent, %s", r->chain_count,
                      i->verified ? "verified" : "not verified");
            if (c->verbose && i->fingerprint_sha256)
                out_field(c, "sha256", "%s", i->fingerprint_sha256);
        }
        if (r->injection == MS_TLS_INJECTION_SAFE)
            out_ok(c, "not open to STARTTLS command injection");
        if (r->dane == MS_TLS_DANE_MATCH)
            out_ok(c, "DANE: a TLSA record matches");
        if (r->mtasts == MS_TLS_MTASTS_PORT_PASS)
            out_ok(c, "MTA-STS: MX host listed, certificate valid for it");
    }
    out_field(c, "time", "%.2f s", r->seconds);
    out_diags(c, &shown);
    ms_diag_list_free(&shown);
}

static void print_mtasts(const cli_common *c, const ms_tls_mtasts *m)
{
    if (m->state == MS_TLS_MTASTS_NOT_CHECKED)
        return;
    if (m->state != MS_TLS_MTASTS_POLICY) {
        out_field(c, "MTA-STS", "%s: %s", m->domain, ms_tls_mtasts_state_str(m->state));
        return;
    }
    out_field(c, "MTA-STS", "%s: mode %s, max_age %ld, %zu mx pattern(s)", m->domain,
              ms_audit_mtasts_mode_str(m->policy->mode), m->policy->max_age, m->policy->mx_count);
    if (m->mx_match == 1)
        out_ok(c, "MTA-STS: %s matches an mx line of the policy", m->mx_host);
}

/* The "All ports" part of the checklist, when it has anything to say. */
static void print_all_ports(const cli_common *c, const ms_tls_check_result *res)
{
    if (res->same_certificate != 1 && res->mtasts.state == MS_TLS_MTASTS_NOT_CHECKED &&
        res->diags.count == 0)
        return;
    out_text(c, "%s", "");
    out_heading(c, "All ports");
    if (res->same_certificate == 1)
        out_ok(c, "the same certificate on every TLS port");
    print_mtasts(c, &res->mtasts);
    out_diags(c, &res->diags);
}

/* One host's findings as the checklist shows them, appended to shown. */
static void add_host_shown(ms_diag_list *shown, const ms_tls_check_result *res)
{
    for (size_t i = 0; i < res->count; i++)
        add_shown(shown, &res->ports[i].diags);
    add_shown(shown, &res->diags);
}

static json_t *json_host(const ms_tls_check_result *res)
{
    json_t *o = json_object();
    json_object_set_new(o, "host", json_string(res->host));
    json_object_set_new(o, "servername", json_str_or_null(res->servername));
    json_object_set_new(o, "same_certificate",
                        res->same_certificate < 0 ? json_null() : json_boolean(res->same_certificate));
    json_t *ports = json_array();
    for (size_t i = 0; i < res->count; i++)
        json_array_append_new(ports, json_port(&res->ports[i]));
    json_object_set_new(o, "ports", ports);
    json_object_set_new(o, "mta_sts", json_mtasts(&res->mtasts));
    json_object_set_new(o, "diagnostics", json_diags(&res->diags));
    return o;
}

/* The heading names the addresses when the host is a name. */
static void print_host(const cli_common *c, const ms_tls_check_result *res, const char *prefix)
{
    char addresses[MS_TLS_MAX_ADDRESSES * 48] = "";
    for (size_t i = 0; i < res->address_count; i++) {
        size_t used = strlen(addresses);
        /* the first address's ports come first, then the next address's */
        snprintf(addresses + used, sizeof addresses - used, "%s%s", i ? ", " : "",
                 res->ports[i * (res->count / res->address_count)].address);
    }
    if (res->address_count > 0 && strcmp(addresses, res->host) != 0)
        out_heading(c, "%s%s (%s)", prefix, res->host, addresses);
    else
        out_heading(c, "%s%s", prefix, res->host);
    if (res->servername)
        out_field(c, "servername", "%s", res->servername);
    for (size_t i = 0; i < res->count; i++) {
        out_text(c, "%s", "");
        print_port(c, res, &res->ports[i]);
    }
    print_all_ports(c, res);
}

/* Exit status: 2 when no port accepted a connection (nothing was checked),
 * else 1 with any error, else 0. The checklist's summary counts the
 * findings it shows. */
static int render(const cli_common *c, const ms_tls_check_result *res)
{
    ms_diag_list shown = MS_DIAG_LIST_INIT;
    add_host_shown(&shown, res);
    int could_not_check = res->open_ports == 0;
    /* the findings left out of the checklist are notes: the status is the same */
    int status = cli_exit_status(&shown, could_not_check);
    if (c->json) {
        json_print_result("tls check", json_host(res), status);
    } else {
        print_host(c, res, "TLS on ");
        out_summary(c, &shown, could_not_check);
    }
    ms_diag_list_free(&shown);
    return status;
}

/* --mx: one object per domain, its hosts each as a host of tls check. */
static json_t *json_mx(const ms_tls_mx_result *mx)
{
    char grade[2] = {mx->grade, '\0'};
    json_t *o = json_object();
    json_object_set_new(o, "domain", json_string(mx->domain));
    json_object_set_new(o, "grade", json_string(grade));
    json_object_set_new(o, "null_mx", json_boolean(mx->null_mx));
    json_object_set_new(o, "implicit_mx", json_boolean(mx->implicit_mx));
    json_t *hosts = json_array();
    for (size_t i = 0; i < mx->count; i++) {
        const ms_tls_mx_host *h = &mx->hosts[i];
        char g[2] = {h->grade, '\0'};
        json_t *host = json_host(h->check);
        json_object_set_new(host, "preference", json_integer(h->preference));
        json_object_set_new(host, "grade", json_string(g));
        json_array_append_new(hosts, host);
    }
    json_object_set_new(o, "hosts", hosts);
    json_object_set_new(o, "diagnostics", json_diags(&mx->diags));
    return o;
}

static void print_mx(const cli_common *c, const ms_tls_mx_result *mx)
{
    out_heading(c, "SMTP TLS of the MX hosts of %s: grade %c", mx->domain, mx->grade);
    if (mx->null_mx)
        out_ok(c, "null MX: %s accepts no mail, there is no SMTP server to check", mx->domain);
    for (size_t i = 0; i < mx->count; i++)
        out_field(c, "MX", "%u %s: grade %c%s", mx->hosts[i].preference, mx->hosts[i].name,
                  mx->hosts[i].grade, mx->implicit_mx ? " (no MX records: the domain itself)" : "");
    out_diags(c, &mx->diags);
    for (size_t i = 0; i < mx->count; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "MX %u, grade %c: TLS on ", mx->hosts[i].preference,
                 mx->hosts[i].grade);
        out_text(c, "%s", "");
        print_host(c, mx->hosts[i].check, prefix);
    }
}

/* Exit status: 2 when the MX lookup failed or no host answered, else as
 * for one host. */
static int render_mx(const cli_common *c, const ms_tls_mx_result *mx)
{
    ms_diag_list shown = MS_DIAG_LIST_INIT;
    add_shown(&shown, &mx->diags);
    for (size_t i = 0; i < mx->count; i++)
        add_host_shown(&shown, mx->hosts[i].check);
    int status = cli_exit_status(&shown, mx->could_not_check);
    if (c->json) {
        json_print_result("tls check", json_mx(mx), status);
    } else {
        print_mx(c, mx);
        out_summary(c, &shown, mx->could_not_check);
    }
    ms_diag_list_free(&shown);
    return status;
}

/* The context, with the HTTPS options of the MTA-STS policy fetch. */
static ms_ctx *make_ctx(const cli_common *c, const check_args *a)
{
    ms_ctx *ctx = cli_make_ctx(c);
    ms_status st = ctx && a->https_ca ? ms_ctx_set_https_ca(ctx, a->https_ca) : MS_OK;
    for (size_t i = 0; ctx && i < a->connect_to_count && st == MS_OK; i++)
        st = ms_ctx_add_https_connect_to(ctx, a->connect_to[i]);
    if (st != MS_OK) {
        ms_ctx_free(ctx);
        cli_usage_error("tls check", "--https-connect-to takes HOST:PORT:HOST2:PORT2");
        return NULL;
    }
    return ctx;
}

/* --mx: DANE and the domain's own MTA-STS policy are what senders apply. */
static int run_check_mx(ms_ctx *ctx, const cli_common *c, check_args *a, const char *domain,
                        const ms_tls_port *ports)
{
    a->opts.dane = 1;
    if (a->opts.mta_sts == NULL)
        a->opts.mta_sts = domain;
    ms_tls_mx_result *mx = NULL;
    ms_status st = ms_tls_check_mx(ctx, domain, ports, a->count, &a->opts, &mx);
    ms_ctx_free(ctx);
    if (st != MS_OK) {
        fprintf(stderr, "mailsec tls check --mx: %s: %s\n", domain,
                st == MS_ERR_INVALID ? "not a valid domain name" : ms_status_str(st));
        return EXIT_UNCHECKED;
    }
    int status = render_mx(c, mx);
    ms_tls_mx_result_free(mx);
    return status;
}

static int run_check(int argc, char **argv)
{
    cli_common c;
    check_args a;
    memset(&a, 0, sizeof a);
    a.starttls = -1;
    a.opts.ciphers = 1;
    int status = cli_parse(argc, argv, &CLI_OPTIONS_tls_check, CHECK_USAGE,
                           "tls check", &c, check_option, &a);
    if (status >= 0)
        return status;
    if (optind + 1 != argc)
        return cli_usage_error("tls check", a.mx ? "give one DOMAIN" : "give one HOST");
    if (a.mx && a.opts.servername)
        return cli_usage_error("tls check", "--servername and --mx: each MX host is checked under "
                                            "its own name");
    ms_tls_port ports[MS_TLS_MAX_PORTS];
    for (size_t i = 0; i < a.count; i++) {
        int mode = a.ports[i].mode >= 0 ? a.ports[i].mode
                   : a.starttls >= 0    ? a.starttls
                                        : ms_tls_default_mode(a.ports[i].port);
        if (mode < 0)
            return cli_usage_error("tls check",
                                   "port %u is not a usual mail port: say how TLS starts, as "
                                   "--port %u/smtp (or lmtp, imap, pop3, sieve, tls) or --starttls",
                                   a.ports[i].port, a.ports[i].port);
        ports[i].port = (uint16_t)a.ports[i].port;
        ports[i].mode = (ms_tls_mode)mode;
    }
    /* --starttls without --port: the default ports keep their modes */
    a.opts.timeout_ms = c.timeout_ms;
    ms_ctx *ctx = make_ctx(&c, &a);
    if (ctx == NULL)
        return EXIT_UNCHECKED;
    if (a.mx)
        return run_check_mx(ctx, &c, &a, argv[optind], ports);
    ms_tls_check_result *res = NULL;
    ms_status st = ms_tls_check(ctx, argv[optind], ports, a.count, &a.opts, &res);
    ms_ctx_free(ctx);
    if (st != MS_OK) {
        fprintf(stderr, "mailsec tls check: %s: %s\n", argv[optind], ms_status_str(st));
        return EXIT_UNCHECKED;
    }
    if (res->address_count == 0) {
        /* each port's finding says why: no record, or the lookup failed */
        const ms_diag_list *d = res->count ? &res->ports[0].diags : NULL;
        fprintf(stderr, "mailsec tls check: %s: %s\n", argv[optind],
                d && d->count ? d->items[0].message : "no address for this host");
        ms_tls_check_result_free(res);
        return EXIT_UNCHECKED;
    }
    status = render(&c, res);
    ms_tls_check_result_free(res);
    return status;
}

int cmd_tls(int argc, char **argv)
{
    static const cli_command COMMANDS[] = {{"check", run_check}};
    return cli_dispatch(argc, argv, GROUP_USAGE, COMMANDS, sizeof COMMANDS / sizeof COMMANDS[0]);
}
