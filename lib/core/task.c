/* Work in a thread of its own when one can be had (task.h). */
#include "task.h"

#include <signal.h>

/* The new thread starts with every signal blocked (a thread inherits its
 * creator's mask; the creator's own is restored at once). */
int ms_task_try(ms_task *t, void *(*fn)(void *), void *arg)
{
    sigset_t all, before;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &before);
    t->in_thread = pthread_create(&t->thread, NULL, fn, arg) == 0;
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    return t->in_thread;
}

int ms_task_run(ms_task *t, void *(*fn)(void *), void *arg)
{
    if (ms_task_try(t, fn, arg))
        return 1;
    fn(arg);
    return 0;
}

void ms_task_join(ms_task *t)
{
    if (t->in_thread)
        pthread_join(t->thread, NULL);
    t->in_thread = 0;
}
