/* Checkpoints of a SQLite store's write-ahead log on a thread of their own
 * (sqlite_checkpoint.c says why). */
#ifndef MAILSEC_LIB_STORE_SQLITE_CHECKPOINT_H
#define MAILSEC_LIB_STORE_SQLITE_CHECKPOINT_H

#include <sqlite3.h>

typedef struct sq_checkpointer sq_checkpointer;

/* Checkpoints of the log of the database at path, which writer has open
 * for writing in WAL mode, on a thread started once writer's commits leave
 * enough in it. NULL when out of memory: writer then checkpoints as
 * SQLite does by default (the caller need do nothing). */
sq_checkpointer *sq_checkpointer_new(sqlite3 *writer, const char *path);

/* Stops the thread, if one was started, and closes its connection; before
 * the writer's connection is closed. NULL: nothing to do. */
void sq_checkpointer_free(sq_checkpointer *c);

#endif
