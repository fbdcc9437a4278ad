/* stopper.c - see stopper.h. One mutex and one condition variable on CLOCK_MONOTONIC;
 * pthread_cond_timedwait may wake spuriously, so every wait loops on its condition. */
#include "lib/base/stopper.h"

#include "lib/base/clock.h"

#include <errno.h>
#include <time.h>

void stopper_init(struct stopper *s)
{
    pthread_condattr_t ca;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    s->stop = false;
    s->kicked = false;
}

void stopper_release(struct stopper *s)
{
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}

void stopper_stop(struct stopper *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

bool stopper_stopped(struct stopper *s)
{
    pthread_mutex_lock(&s->mu);
    bool stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* Waits until the deadline, stop, or (with kicks) a kick. Called with mu held. */
static void stopper_wait_locked(struct stopper *s, int64_t ms, bool kicks)
{
    if (ms <= 0)
        return;
    struct timespec ts = clock_deadline(CLOCK_MONOTONIC, ms);
    while (!s->stop && !(kicks && s->kicked) &&
           pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT)
        ;
}

bool stopper_sleep(struct stopper *s, int64_t ms)
{
    pthread_mutex_lock(&s->mu);
    stopper_wait_locked(s, ms, false);
    bool go_on = !s->stop;
    pthread_mutex_unlock(&s->mu);
    return go_on;
}

bool stopper_wait(struct stopper *s, int64_t ms)
{
    pthread_mutex_lock(&s->mu);
    stopper_wait_locked(s, ms, true);
    s->kicked = false;
    bool go_on = !s->stop;
    pthread_mutex_unlock(&s->mu);
    return go_on;
}

void stopper_kick(struct stopper *s)
{
    pthread_mutex_lock(&s->mu);
    s->kicked = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}
