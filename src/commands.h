/* The command groups. Each takes argv starting at the group's name. */
#ifndef MAILSEC_COMMANDS_H
#define MAILSEC_COMMANDS_H

int cmd_audit(int argc, char **argv);
int cmd_dmarc(int argc, char **argv);
int cmd_diag(int argc, char **argv);
int cmd_email(int argc, char **argv);
int cmd_dkim(int argc, char **argv);
int cmd_spf(int argc, char **argv);
int cmd_tls(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_conf(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_milter(int argc, char **argv);
int cmd_roundcube(int argc, char **argv);
/* mailsec roundcube upgrade / rollback (roundcube_upgrade.c), called by
 * cmd_roundcube's dispatcher with argv starting at the subcommand. */
int cmd_roundcube_upgrade(int argc, char **argv);
int cmd_roundcube_rollback(int argc, char **argv);

#endif
