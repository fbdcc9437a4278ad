/* stopper.h - the stop flag of a background thread and its interruptible sleeps: the thread
 * sleeps up to N ms between rounds and wakes at once when stopped (or, in stopper_wait, when
 * kicked because there is work). Not a queue: kicks before a wait count as one. */
#ifndef LIB_BASE_STOPPER_H
#define LIB_BASE_STOPPER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Storage the caller owns; the fields are private to stopper.c. */
struct stopper {
    pthread_mutex_t mu; /* guards stop and kicked */
    pthread_cond_t cv;  /* on CLOCK_MONOTONIC: a wall-clock step changes no sleep */
    bool stop, kicked;
};

void stopper_init(struct stopper *s);
/* Releases what stopper_init made; no thread may use s any more. */
void stopper_release(struct stopper *s);

/* Sets the stop flag for good and wakes every sleeper. Any thread, any number of times. */
void stopper_stop(struct stopper *s);
/* True once stopper_stop was called. Any thread. */
bool stopper_stopped(struct stopper *s);
/* Sleeps ms (<= 0: not at all), ending early only when stopped: kicks neither end it nor
 * are taken by it. False when stopped. */
bool stopper_sleep(struct stopper *s, int64_t ms);
/* Waits ms (<= 0: not at all) or until kicked or stopped, whichever comes first, and takes
 * the kick (a kick made before the call ends it at once). False when stopped. */
bool stopper_wait(struct stopper *s, int64_t ms);
/* Ends the current stopper_wait, or the next one if none is waiting. Any thread. */
void stopper_kick(struct stopper *s);

#endif
