/* mailsec: the command-line tool. It dispatches to one file per command
 * group; the groups parse arguments and render results, the library does
 * the work. */
#include "cli.h"
#include "commands.h"
#include "mailsec/dns.h"

#include <stdio.h>
#include <string.h>

static const struct group {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} GROUPS[] = {
    {"audit", cmd_audit, "audit a mail domain: MX, SPF, DMARC, DKIM, MTA-STS, TLS-RPT, BIMI, DNSSEC"},
    {"dmarc", cmd_dmarc, "check, explain, generate, plan and advise DMARC records"},
    {"spf", cmd_spf, "check SPF records (lookup tree, limits) and evaluate check_host()"},
    {"dkim", cmd_dkim, "check DKIM key records, verify and sign messages, make and rotate keys"},
    {"diag", cmd_diag, "list the diagnostic codes and what to do about each"},
    {"email", cmd_email, "validate e-mail addresses (RFC 5321/5322/6531, HTML5), deliverability"},
    {"report", cmd_report, "ingest DMARC and TLS reports (files, mail, IMAP); views, exports; send our own"},
    {"serve", cmd_serve, "the web dashboard over the report store: pages, charts, JSON API"},
    {"milter", cmd_milter, "mail filter for Postfix: SPF, DKIM, DMARC, ARC on incoming mail; DKIM signing"},
    {"tls", cmd_tls, "check TLS on every mail port: STARTTLS, versions, certificates, DANE"},
    {"cert", cmd_cert, "lint certificate and key files; bundle chains for Postfix and Dovecot"},
    {"conf", cmd_conf, "audit and generate Postfix and Dovecot TLS configuration"},
    {"roundcube", cmd_roundcube, "audit a Roundcube Webmail installation; upgrade it with a backup"},
};

static void print_usage(FILE *to)
{
    fprintf(to, "Usage: mailsec <group> <command> [options] [arguments]\n\n"
                "Groups:\n");
    for (size_t i = 0; i < sizeof GROUPS / sizeof GROUPS[0]; i++)
        fprintf(to, "  %-9s %s\n", GROUPS[i].name, GROUPS[i].summary);
    fprintf(to, "\n'mailsec <group> --help' lists a group's commands.\n"
                "Options: --help, --version. Manual: man mailsec.\n");
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return EXIT_UNCHECKED;
    }
    const char *group = argv[1];
    if (strcmp(group, "--help") == 0 || strcmp(group, "-h") == 0 || strcmp(group, "help") == 0) {
        print_usage(stdout);
        return EXIT_CLEAN;
    }
    if (strcmp(group, "--version") == 0 || strcmp(group, "version") == 0) {
        printf("mailsec %s\n", MS_VERSION);
        return EXIT_CLEAN;
    }
    for (size_t i = 0; i < sizeof GROUPS / sizeof GROUPS[0]; i++)
        if (strcmp(group, GROUPS[i].name) == 0)
            return GROUPS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mailsec: unknown group \"%s\"\n\n", group);
    print_usage(stderr);
    return EXIT_UNCHECKED;
}

int main(int argc, char **argv)
{
    int status = run(argc, argv);
    /* libunbound is loaded by the first DNS query: when it is missing, the
     * command said "DNS resolver error"; this says what to install. */
    const char *dns_missing = ms_dns_library_error();
    if (dns_missing != NULL)
        fprintf(stderr, "mailsec: %s\n", dns_missing);
    /* Output that was not written is a failure to check, whatever the
     * command found. */
    return cli_finish_output(status);
}
