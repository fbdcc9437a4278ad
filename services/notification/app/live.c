/* live.c - what the streaming clients hear about a committed batch. Best effort: the events
 * are stored whatever happens here, and a client that missed one reads it over REST. */
#include "services/notification/app/live.h"

#include "services/notification/ports/live_stream.h"

#include <string.h>

static bool has(const uint64_t *ids, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

size_t live_audience(uint64_t author, enum visibility v, const uint64_t *followers,
                     size_t nfollowers, const uint64_t *mentions, size_t nmentions, struct arena *a,
                     uint64_t **out, bool *public_streams)
{
    bool direct = v == VISIBILITY_DIRECT, known = v != 0;
    size_t cap = 1 + (direct ? nmentions : known ? nfollowers : 0), n = 0;
    uint64_t *ids = arena_calloc(a, cap, sizeof(*ids));
    ids[n++] = author;
    if (direct) {
        /* A handful of mentions: the quadratic check is cheaper than anything else. */
        for (size_t i = 0; i < nmentions; i++)
            if (mentions[i] && !has(ids, n, mentions[i]))
                ids[n++] = mentions[i];
    } else if (known) {
        /* The follower set is a set and never holds the author (nobody follows themselves). */
        for (size_t i = 0; i < nfollowers; i++)
            if (followers[i] != author)
                ids[n++] = followers[i];
    }
    *out = ids;
    *public_streams = v == VISIBILITY_PUBLIC;
    return n;
}

static void log_failure(struct notif_core *c, const char *what, const struct err *err)
{
    if (c->log)
        log_printf(c->log, LOG_WARN, NULL, "streaming %s not published: %s", what, err->msg);
}

/* Each notification item i made that still exists, to its recipient. */
static size_t publish_notifications(struct notif_core *c, const struct batch_item *it,
                                    struct arena *a)
{
    size_t failed = 0;
    for (size_t j = 0; j < it->changes->ncreates; j++) {
        struct notification n;
        struct err err = {0};
        const struct notification_new *nn = &it->changes->creates[j];
        if (!live_stream_listening(&c->live, nn->recipient_id))
            continue; /* not connected: no need to read it back and render it */
        int rc = notification_store_get(&c->store, nn->recipient_id, it->notification_ids[j], a, &n,
                                        &err);
        if (rc == ERR_NOT_FOUND)
            continue; /* removed again later in the batch */
        if (rc == 0)
            rc = live_stream_notification(&c->live, &n, &err);
        if (rc) {
            log_failure(c, "notification", &err);
            failed++;
        }
    }
    return failed;
}

static size_t publish_status(struct notif_core *c, const struct domain_event *e, struct arena *a)
{
    uint64_t *followers = NULL, *to;
    size_t nfollowers = 0;
    bool pub;
    struct err err = {0};
    int rc = 0;
    if (e->visibility && e->visibility != VISIBILITY_DIRECT)
        rc = notification_store_followers(&c->store, e->actor_id, a, &followers, &nfollowers, &err);
    if (rc == 0) {
        size_t n = live_audience(e->actor_id, e->visibility, followers, nfollowers, e->mentions,
                                 e->nmentions, a, &to, &pub);
        if (e->kind == DOMAIN_STATUS_CREATED)
            rc = live_stream_update(&c->live, e->status_json, to, n, pub, &err);
        else
            rc = live_stream_remove(&c->live, e->status_id, to, n, pub, &err);
    }
    if (rc) {
        log_failure(c, e->kind == DOMAIN_STATUS_CREATED ? "update" : "delete", &err);
        return 1;
    }
    return 0;
}

size_t live_publish(struct notif_core *c, const struct live_item *items, size_t n, struct arena *a)
{
    size_t failed = 0;
    if (!c->live.ops)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const struct live_item *li = &items[i];
        if (!li->event || !li->item->changes || li->duplicate)
            continue;
        failed += publish_notifications(c, li->item, a);
        if (li->event->kind == DOMAIN_STATUS_CREATED || li->event->kind == DOMAIN_STATUS_DELETED)
            failed += publish_status(c, li->event, a);
    }
    return failed;
}
