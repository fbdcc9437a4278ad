/* test_stopper.c - lib/base/stopper: sleeps last their time unless stopped, waits also end on
 * a kick, a stop wakes a sleeper at once and sticks. Real threads and the monotonic clock. */
#include "lib/base/clock.h"
#include "lib/base/stopper.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <unistd.h>

/* A thread that, after delay_ms, stops or kicks s. */
struct poke {
    struct stopper *s;
    int delay_ms;
    bool stop;
    pthread_t thread;
};

static void *poke_main(void *arg)
{
    struct poke *p = arg;
    usleep((useconds_t)p->delay_ms * 1000);
    if (p->stop)
        stopper_stop(p->s);
    else
        stopper_kick(p->s);
    return NULL;
}

static void poke_start(struct poke *p, struct stopper *s, int delay_ms, bool stop)
{
    *p = (struct poke){.s = s, .delay_ms = delay_ms, .stop = stop};
    cr_assert_eq(pthread_create(&p->thread, NULL, poke_main, p), 0);
}

Test(stopper, sleep_lasts_its_time_when_not_stopped, .timeout = 30)
{
    struct stopper s;
    stopper_init(&s);
    int64_t t0 = clock_monotonic_ms();
    cr_assert(stopper_sleep(&s, 120));
    cr_assert_geq(clock_monotonic_ms() - t0, 120);
    cr_assert_not(stopper_stopped(&s));
    t0 = clock_monotonic_ms();
    cr_assert(stopper_wait(&s, 80));
    cr_assert_geq(clock_monotonic_ms() - t0, 80);
    stopper_release(&s);
}

Test(stopper, stop_wakes_a_sleeper_at_once_and_sticks, .timeout = 30)
{
    struct stopper s;
    struct poke p;
    stopper_init(&s);
    poke_start(&p, &s, 50, true);
    int64_t t0 = clock_monotonic_ms();
    cr_assert_not(stopper_sleep(&s, 20000));
    int64_t took = clock_monotonic_ms() - t0;
    cr_assert_geq(took, 40);
    cr_assert_lt(took, 10000, "the stop did not end the sleep (%lld ms)", (long long)took);
    pthread_join(p.thread, NULL);
    cr_assert(stopper_stopped(&s));
    /* Stopped for good: every later sleep or wait says so without waiting. */
    t0 = clock_monotonic_ms();
    cr_assert_not(stopper_sleep(&s, 20000));
    cr_assert_not(stopper_wait(&s, 20000));
    cr_assert_not(stopper_sleep(&s, 0));
    cr_assert_not(stopper_wait(&s, -5));
    cr_assert_lt(clock_monotonic_ms() - t0, 5000);
    stopper_stop(&s); /* again: harmless */
    cr_assert(stopper_stopped(&s));
    stopper_release(&s);
}

Test(stopper, stop_wakes_a_waiter, .timeout = 30)
{
    struct stopper s;
    struct poke p;
    stopper_init(&s);
    poke_start(&p, &s, 50, true);
    int64_t t0 = clock_monotonic_ms();
    cr_assert_not(stopper_wait(&s, 20000));
    cr_assert_lt(clock_monotonic_ms() - t0, 10000);
    pthread_join(p.thread, NULL);
    stopper_release(&s);
}

Test(stopper, a_kick_ends_a_wait_and_is_taken_by_it, .timeout = 30)
{
    struct stopper s;
    struct poke p;
    stopper_init(&s);
    poke_start(&p, &s, 50, false);
    int64_t t0 = clock_monotonic_ms();
    cr_assert(stopper_wait(&s, 20000));
    int64_t took = clock_monotonic_ms() - t0;
    cr_assert_geq(took, 40);
    cr_assert_lt(took, 10000, "the kick did not end the wait (%lld ms)", (long long)took);
    pthread_join(p.thread, NULL);
    /* Taken: the next wait lasts its time. */
    t0 = clock_monotonic_ms();
    cr_assert(stopper_wait(&s, 100));
    cr_assert_geq(clock_monotonic_ms() - t0, 100);
    cr_assert_not(stopper_stopped(&s));
    stopper_release(&s);
}

Test(stopper, kicks_before_a_wait_count_once, .timeout = 30)
{
    struct stopper s;
    stopper_init(&s);
    stopper_kick(&s);
    stopper_kick(&s);
    int64_t t0 = clock_monotonic_ms();
    cr_assert(stopper_wait(&s, 20000));
    cr_assert_lt(clock_monotonic_ms() - t0, 10000);
    t0 = clock_monotonic_ms();
    cr_assert(stopper_wait(&s, 100));
    cr_assert_geq(clock_monotonic_ms() - t0, 100);
    /* A zero wait takes a pending kick too. */
    stopper_kick(&s);
    cr_assert(stopper_wait(&s, 0));
    t0 = clock_monotonic_ms();
    cr_assert(stopper_wait(&s, 100));
    cr_assert_geq(clock_monotonic_ms() - t0, 100);
    stopper_release(&s);
}

Test(stopper, a_kick_neither_ends_a_sleep_nor_is_taken_by_it, .timeout = 30)
{
    struct stopper s;
    struct poke p;
    stopper_init(&s);
    poke_start(&p, &s, 30, false);
    int64_t t0 = clock_monotonic_ms();
    cr_assert(stopper_sleep(&s, 250));
    cr_assert_geq(clock_monotonic_ms() - t0, 250);
    pthread_join(p.thread, NULL);
    /* Still pending for the next wait. */
    t0 = clock_monotonic_ms();
    cr_assert(stopper_wait(&s, 20000));
    cr_assert_lt(clock_monotonic_ms() - t0, 10000);
    stopper_release(&s);
}

Test(stopper, zero_or_negative_sleeps_return_at_once, .timeout = 30)
{
    struct stopper s;
    stopper_init(&s);
    int64_t t0 = clock_monotonic_ms();
    cr_assert(stopper_sleep(&s, 0));
    cr_assert(stopper_sleep(&s, -100));
    cr_assert(stopper_wait(&s, 0));
    cr_assert(stopper_wait(&s, -100));
    cr_assert_lt(clock_monotonic_ms() - t0, 5000);
    stopper_release(&s);
}
