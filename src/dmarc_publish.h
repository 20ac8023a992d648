/* mailsec dmarc publish: a DMARC record published with a TSIG-signed
 * dynamic update (lib/dns update), then verified through the resolver.
 * `dmarc advise --publish` calls dmarc_publish_record with the same
 * options (the set "dmarc update" of src/options/dmarc.opts). */
#ifndef MAILSEC_DMARC_PUBLISH_H
#define MAILSEC_DMARC_PUBLISH_H

#include "cli.h"

#include <stddef.h>

enum { PUBLISH_MAX_EXPECT = 8 };

typedef struct publish_args {
    const char *server;        /* --server ADDR[:PORT] (required) */
    const char *tsig_key_file; /* --tsig-key FILE (required) */
    const char *zone;          /* --zone Z; NULL: found by SOA lookups through the resolver */
    /* --expect TEXT (repeatable) / --expect-none: the record(s) the caller
     * read; the update applies only if the name still holds exactly these.
     * Without them the primary is asked just before the update. */
    const char *expect[PUBLISH_MAX_EXPECT];
    size_t expect_count;
    int expect_given; /* --expect or --expect-none was given */
    int expect_none;
    unsigned long ttl; /* --ttl; 0: the old record's TTL, else 3600 */
    int dry_run;       /* --dry-run: print the update, send nothing */
} publish_args;

/* Handles one option of the set "dmarc update" (src/options/dmarc.opts):
 * 1 taken, 0 bad value, CLI_OPTION_UNHANDLED not one of them. */
int publish_option(publish_args *p, int opt, const char *value);

/* After parsing: -1 when the options go together, else a usage error
 * (printed, naming command) and EXIT_UNCHECKED. */
int publish_args_check(const publish_args *p, const char *command);

/* Validates record with lib/dmarc (an invalid record is never sent),
 * replaces the TXT record at _dmarc.DOMAIN with a prerequisite-checked,
 * TSIG-signed dynamic update (unless p->dry_run), then asks c's resolver
 * whether the new record is served. Text mode: prints its own checklist
 * section. JSON mode: prints nothing; *json receives the "publish" object
 * of docs/json.md (the caller owns it; NULL on a usage error).
 * Returns 0 published and served (or a dry run, or already published),
 * 1 published but not yet served, or the record changed meanwhile
 * (nothing overwritten), 2 could not (key file, wrong key, refused, no
 * answer, invalid record). */
int dmarc_publish_record(const cli_common *c, const publish_args *p, const char *domain,
                         const char *record, json_t **json);

/* `mailsec dmarc publish DOMAIN --record TEXT ...` (argv[0] is "publish"). */
int dmarc_publish_command(int argc, char **argv);

#endif
