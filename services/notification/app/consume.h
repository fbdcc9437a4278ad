/* consume.h - use case: apply a batch of event envelopes from a transport. The one entry
 * point every transport calls (the outbox feed today, Kafka later): parse, decode, apply the
 * rules, store the changes and the transport's new position in one transaction. */
#ifndef SERVICES_NOTIFICATION_APP_CONSUME_H
#define SERVICES_NOTIFICATION_APP_CONSUME_H

#include "services/notification/app/core.h"

#include <stddef.h>
#include <stdint.h>

/* One message as the transport delivered it. */
struct inbound_message {
    int64_t position; /* its position in the transport (feed seq, Kafka offset) */
    const char *text; /* the envelope's JSON text, not necessarily valid */
    size_t len;
};

struct consume_stats {
    size_t events;     /* messages applied as events (duplicates included) */
    size_t created;    /* notifications created */
    size_t removed;    /* notifications removed */
    size_t duplicates; /* events already processed before */
    size_t dead;       /* messages dead-lettered */
};

/* Applies msgs[0..n) and stores `position` as source's cursor, in one transaction. source
 * NULL stores no cursor: for a transport that keeps the position itself (Kafka's committed
 * offsets, committed by the caller once this returned 0).
 * A message that is not a valid envelope (event_parse), has an unknown type or version, or
 * data that does not decode is dead-lettered with the reason, and the batch goes on.
 * If the store refuses the batch for a reason that is not transient, the messages are applied
 * one by one (each with its own position as the cursor) and one the store still refuses is
 * dead-lettered. Returns 0, or ERR_UNAVAILABLE (err set) when the store is unreachable: then
 * nothing after the last stored cursor was kept, and the caller retries later. st may be
 * NULL; it is added to. */
int consume_batch(struct notif_core *c, const char *source, const struct inbound_message *msgs,
                  size_t n, int64_t position, struct consume_stats *st, struct err *err);

/* The stored cursor of source (0 when none). */
int consume_cursor(struct notif_core *c, const char *source, int64_t *out, struct err *err);

#endif
