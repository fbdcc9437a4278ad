/* event.h - the domain event envelope both services speak on every transport (outbox feed,
 * Kafka): {"id","type","version","occurred_at","producer","key","data"} (ARCHITECTURE.md,
 * "Domain events"). Encoding and strict decoding only; what an event means is the services'
 * business. */
#ifndef LIB_EVENTS_EVENT_H
#define LIB_EVENTS_EVENT_H

#include "lib/base/arena.h"
#include "lib/base/buf.h"
#include "lib/base/err.h"

#include <stdint.h>

#define EVENT_TYPE_MAX 64
#define EVENT_PRODUCER_MAX 64
#define EVENT_KEY_MAX 64
#define EVENT_DATA_MAX (256 * 1024)

struct event {
    uint64_t id;          /* sortable id (lib/base/id), unique per event */
    const char *type;     /* "favourite.created": lower-case words joined by '.' and '_' */
    int version;          /* schema version of data, >= 1 */
    int64_t occurred_at;  /* Unix milliseconds */
    const char *producer; /* "threadly-service" */
    const char *key;      /* aggregate id: orders events of one aggregate (Kafka key) */
    const char *data;     /* a JSON object, as text (event_parse: the bytes it arrived in) */
};

/* Appends e as one compact JSON object. data must be a JSON object (ASSERTed). */
void event_format(const struct event *e, struct buf *out);

/* Parses and validates an envelope from the wire into strings in arena a. ERR_INVALID, with
 * the reason in err, for anything malformed: not JSON (as strict as jansson: lib/base/json_span),
 * a missing or mistyped field, an id that is not a positive 63-bit decimal string, an
 * unknown-looking type, version < 1, a time that is not RFC 3339, data that is not an object or
 * is too large. out->data is the text of data as it arrived (checked JSON, so a decoder may
 * read it with json_span without checking it again). Nothing is partially set on failure that
 * the caller should use. */
int event_parse(const char *text, size_t len, struct arena *a, struct event *out, struct err *err);

/* True if type looks like an event type ("word(.word)+", lower-case letters, digits, '_'). */
bool event_type_valid(const char *type);

#endif
