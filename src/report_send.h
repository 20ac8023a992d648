/* mailsec report send (src/report_send.c). */
#ifndef MAILSEC_SRC_REPORT_SEND_H
#define MAILSEC_SRC_REPORT_SEND_H

int report_send_run(int argc, char **argv);

#endif
