/* health.c - see health.h. up is atomic so that /ready and the thread's health_up need no
 * lock; the reason, a string, is under mu. */
#include "lib/base/health.h"

#include <stdio.h>
#include <string.h>

void health_init(struct health *h, const char *name, const struct logger *log,
                 struct metric_series *gauge, struct metric_series *errors, const char *why0)
{
    h->name = name;
    h->log = log;
    h->gauge = gauge;
    h->errors = errors;
    pthread_mutex_init(&h->mu, NULL);
    snprintf(h->why, sizeof(h->why), "%s", why0);
    atomic_init(&h->up, false);
}

void health_release(struct health *h)
{
    pthread_mutex_destroy(&h->mu);
}

bool health_up(struct health *h)
{
    bool was_up = atomic_exchange(&h->up, true);
    if (h->gauge)
        metrics_set(h->gauge, 1);
    return !was_up;
}

void health_down(struct health *h, const char *why)
{
    bool was_up = atomic_exchange(&h->up, false);
    pthread_mutex_lock(&h->mu);
    bool same = strcmp(h->why, why) == 0;
    snprintf(h->why, sizeof(h->why), "%s", why);
    pthread_mutex_unlock(&h->mu);
    if (h->gauge)
        metrics_set(h->gauge, 0);
    if (h->errors)
        metrics_add(h->errors, 1);
    if (was_up || !same)
        log_printf(h->log, LOG_WARN, NULL, "%s: %s", h->name, why);
}

int health_ready(struct health *h, struct err *err)
{
    if (atomic_load(&h->up))
        return 0;
    pthread_mutex_lock(&h->mu);
    int rc = err_set(err, ERR_UNAVAILABLE, "%s", h->why);
    pthread_mutex_unlock(&h->mu);
    return rc;
}
