/* A piece of work that runs in a thread of its own when one can be had.
 *
 * The library runs checks side by side (an audit's five areas, a TLS
 * check's ports and probes, an MX host each). A machine out of threads
 * must make such a check slower, never wrong: ms_task_run then does the
 * work in the caller's thread before it returns. ms_task_try is for work
 * the caller makes up for itself later when no thread could be had.
 *
 * A task's thread takes no signal: signals are the program's, and a
 * program may wait for them in a thread of its own (libmilter waits for
 * SIGTERM so; a library thread that took it would end the process). */
#ifndef MAILSEC_LIB_CORE_TASK_H
#define MAILSEC_LIB_CORE_TASK_H

#include <pthread.h>

typedef struct ms_task {
    pthread_t thread;
    int in_thread; /* a thread runs it: ms_task_join waits for it */
} ms_task;

/* Runs fn(arg) in a new thread, or here and now when none can be made.
 * Either way fn(arg) has run or is running; returns whether in a thread. */
int ms_task_run(ms_task *t, void *(*fn)(void *), void *arg);

/* Starts fn(arg) in a new thread; returns 0, having run nothing, when no
 * thread can be made. */
int ms_task_try(ms_task *t, void *(*fn)(void *), void *arg);

/* Waits for a task that runs in a thread; nothing to do for one that ran
 * here, was never started, or was joined already. */
void ms_task_join(ms_task *t);

#endif
