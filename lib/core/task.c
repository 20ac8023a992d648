/* Work in a thread of its own when one can be had (task.h). */
#include "task.h"

int ms_task_try(ms_task *t, void *(*fn)(void *), void *arg)
{
    t->in_thread = pthread_create(&t->thread, NULL, fn, arg) == 0;
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
