/* event_decoder.h - port: turns an envelope (JSON text, lib/events) and its data into a
 * domain_event. Adapters: json (jansson). Kept behind a port because the app and domain
 * include no JSON library. Thread-safe. */
#ifndef SERVICES_NOTIFICATION_PORTS_EVENT_DECODER_H
#define SERVICES_NOTIFICATION_PORTS_EVENT_DECODER_H

#include "lib/base/arena.h"
#include "lib/base/err.h"
#include "lib/events/event.h"
#include "services/notification/domain/rules.h"

struct event_decoder_ops {
    /* Decodes e (already a valid envelope) into out, strings in arena a. ERR_NOT_FOUND for a
     * type or version this service does not know; ERR_INVALID for data that does not match
     * docs/events.md (err says what). */
    int (*decode)(void *ctx, const struct event *e, struct arena *a, struct domain_event *out,
                  struct err *err);
    /* Parses the envelope text[0..len) as event_parse does, into *e, and decodes its data as
     * decode does, reading the text once. ERR_INVALID with *e zeroed for a message that is not
     * a valid envelope; with *e set, ERR_NOT_FOUND or ERR_INVALID as decode. */
    int (*parse)(void *ctx, const char *text, size_t len, struct arena *a, struct event *e,
                 struct domain_event *out, struct err *err);
};

struct event_decoder {
    const struct event_decoder_ops *ops;
    void *ctx;
};

static inline int event_decoder_decode(struct event_decoder *d, const struct event *e,
                                       struct arena *a, struct domain_event *out, struct err *err)
{
    return d->ops->decode(d->ctx, e, a, out, err);
}

static inline int event_decoder_parse(struct event_decoder *d, const char *text, size_t len,
                                      struct arena *a, struct event *e, struct domain_event *out,
                                      struct err *err)
{
    return d->ops->parse(d->ctx, text, len, a, e, out, err);
}

#endif
