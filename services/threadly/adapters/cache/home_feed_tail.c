/* home_feed_tail.c - see home_feed_tail.h. The outbox's seq is given in commit order
 * (docs/events.md), so reading after the last seq seen misses nothing. A database error is
 * logged and retried at the next interval; the feeds are then behind by that much. */
#include "services/threadly/adapters/cache/home_feed_tail.h"

#include "lib/base/stopper.h"
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/cache/token_store_cache.h"
#include "services/threadly/app/entities.h"
#include "services/threadly/app/home.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TAIL_BATCH 500

struct home_feed_tail {
    struct core *core;
    struct outbox_store *store;
    struct logger *log;
    int interval_ms;
    uint64_t after; /* the last seq read */
    pthread_t thread;
    struct stopper stop;
};

/* A decimal id string member of o, 0 when absent or malformed. */
static uint64_t id_member(json_t *o, const char *name)
{
    uint64_t id = 0;
    json_t *v = json_object_get(o, name);
    if (json_is_string(v) && !id_parse(json_string_value(v), &id))
        id = 0;
    return id;
}

static bool parse_visibility(const char *s, enum visibility *out)
{
    static const char *const names[] = {"public", "unlisted", "private", "direct"};
    for (int i = 0; s && i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum visibility)i;
            return true;
        }
    }
    return false;
}

/* Reports one event of another node to the home feeds. Unknown or malformed: ignored (the
 * consumers of the outbox validate events; this is a cache). */
static void tail_apply(struct home_feed_tail *t, const struct event *e)
{
    json_t *data = json_loads(e->data, 0, NULL);
    if (!data)
        return;
    if (strcmp(e->type, "status.created") == 0) {
        json_t *s = json_object_get(data, "status");
        json_t *m = json_object_get(data, "mentioned_account_ids");
        struct home_post p = {0};
        p.id = id_member(s, "id");
        p.account_id = id_member(json_object_get(s, "account"), "id");
        size_t n = json_is_array(m) ? json_array_size(m) : 0;
        uint64_t *mentions = xcalloc(n ? n : 1, sizeof(*mentions));
        for (size_t i = 0; i < n; i++) {
            const char *v = json_string_value(json_array_get(m, i));
            if (v && id_parse(v, &mentions[p.nmentions]))
                p.nmentions++;
        }
        p.mentions = mentions;
        json_t *vis = json_object_get(s, "visibility");
        if (p.id && p.account_id &&
            parse_visibility(json_is_string(vis) ? json_string_value(vis) : NULL, &p.visibility))
            home_status_created(t->core, &p);
        free(mentions);
        entities_account_changed(t->core, p.account_id);
        entities_status_changed(t->core, id_member(s, "in_reply_to_id"));
    } else if (strcmp(e->type, "status.deleted") == 0) {
        uint64_t id = id_member(data, "status_id");
        if (id)
            home_status_deleted(t->core, id);
        entities_status_changed(t->core, id);
        entities_account_changed(t->core, id_member(data, "account_id"));
        entities_status_changed(t->core, id_member(data, "in_reply_to_id"));
    } else if (strcmp(e->type, "favourite.created") == 0) {
        entities_status_changed(t->core, id_member(json_object_get(data, "status"), "id"));
    } else if (strcmp(e->type, "favourite.deleted") == 0) {
        entities_status_changed(t->core, id_member(data, "status_id"));
    } else if (strcmp(e->type, "account.updated") == 0) {
        entities_account_changed(t->core, id_member(json_object_get(data, "account"), "id"));
    } else if (strcmp(e->type, "follow.created") == 0) {
        uint64_t follower = id_member(json_object_get(data, "account"), "id");
        if (follower)
            home_follows_changed(t->core, follower);
        entities_account_changed(t->core, follower);
        entities_account_changed(t->core, id_member(json_object_get(data, "target"), "id"));
    } else if (strcmp(e->type, "follow.deleted") == 0) {
        uint64_t follower = id_member(data, "account_id");
        if (follower)
            home_follows_changed(t->core, follower);
        entities_account_changed(t->core, follower);
        entities_account_changed(t->core, id_member(data, "target_account_id"));
    } else if (strcmp(e->type, "token.revoked") == 0) {
        uint64_t jti = id_member(data, "jti");
        json_t *acct = json_object_get(data, "account_id");
        uint64_t account_id = 0; /* "0" for an app token */
        if (jti && json_is_string(acct) && id_parse(json_string_value(acct), &account_id))
            token_store_cache_revoked(&t->core->tokens, jti, account_id);
    } else if (strcmp(e->type, "account.tokens_revoked") == 0) {
        uint64_t account_id = id_member(data, "account_id");
        uint64_t below = id_member(data, "revoked_below_jti");
        if (account_id && below)
            token_store_cache_cutoff(&t->core->tokens, account_id, below);
    }
    json_decref(data);
}

/* Reads and applies what the outbox has after t->after. False on a database error. */
static bool tail_poll(struct home_feed_tail *t)
{
    unsigned node = t->core->ids->node;
    for (;;) {
        struct arena a;
        struct err err = {0};
        struct outbox_row *rows;
        size_t n;
        arena_init(&a, 0);
        int rc = outbox_store_list(t->store, t->after, TAIL_BATCH, &a, &rows, &n, &err);
        if (rc) {
            log_printf(t->log, LOG_WARN, NULL, "home feed tail: %s", err.msg);
            arena_release(&a);
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            if (id_node(rows[i].event.id) != node)
                tail_apply(t, &rows[i].event);
            t->after = rows[i].seq;
        }
        arena_release(&a);
        if (n < TAIL_BATCH)
            return true;
    }
}

static void *tail_main(void *arg)
{
    struct home_feed_tail *t = arg;
    while (stopper_sleep(&t->stop, t->interval_ms))
        tail_poll(t);
    return NULL;
}

struct home_feed_tail *home_feed_tail_start(struct core *core, struct outbox_store *store,
                                            int interval_ms, struct logger *log, struct err *err)
{
    ASSERT((core->home.ops || core->entities.ops) && interval_ms >= 1);
    uint64_t head;
    if (outbox_store_head(store, &head, err) != 0)
        return NULL;
    struct home_feed_tail *t = xcalloc(1, sizeof(*t));
    t->core = core;
    t->store = store;
    t->log = log;
    t->interval_ms = interval_ms;
    t->after = head;
    stopper_init(&t->stop);
    ASSERT(pthread_create(&t->thread, NULL, tail_main, t) == 0);
    return t;
}

void home_feed_tail_stop(struct home_feed_tail *t)
{
    if (!t)
        return;
    stopper_stop(&t->stop);
    pthread_join(t->thread, NULL);
    stopper_release(&t->stop);
    free(t);
}
