/* test_entities.c - the entity cache (ports/entity_cache.h, adapters/mem/entity_cache_mem.c,
 * app/entities.c). The adapter: copies come back whole and without secrets, a put older than
 * an invalidation is refused, memory stays within the budget. The app: after every write of a
 * random script (posts, replies, deletions, favourites, unfavourites, follows, requests
 * accepted and rejected, profile updates), every status rendered through a core with the
 * cache (GET /api/v1/statuses/:id for several viewers, and home pages) is byte for byte what a
 * core without it renders from the same database; and a second core sees the first one's
 * writes through the outbox tail (adapters/cache/home_feed_tail.c). */
#include "services/threadly/adapters/cache/home_feed_tail.h"
#include "services/threadly/adapters/http/api.h"
#include "services/threadly/adapters/mem/entity_cache_mem.h"
#include "services/threadly/adapters/mem/home_feed_mem.h"
#include "services/threadly/adapters/mem/stores_mem.h"
#include "services/threadly/app/auth.h"
#include "services/threadly/app/entities.h"
#include "services/threadly/app/statuses.h"
#include "tests/unit/core_fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- the adapter ---- */

static struct status sample_status(uint64_t id, const char *text)
{
    static const uint64_t mentions[] = {7, 9};
    static const char *const tags[] = {"cats", "dogs"};
    return (struct status){.id = id,
                           .account_id = 42,
                           .text = text,
                           .content = "<p>hello</p>",
                           .spoiler_text = "",
                           .visibility = VISIBILITY_UNLISTED,
                           .sensitive = true,
                           .language = "en",
                           .in_reply_to_id = 5,
                           .in_reply_to_account_id = 6,
                           .created_at_ms = 1795957323004LL,
                           .replies_count = 3,
                           .favourites_count = 4,
                           .nmentions = 2,
                           .mentions = mentions,
                           .ntags = 2,
                           .tags = tags};
}

Test(entity_cache_mem, copies_come_back_whole_and_accounts_without_secrets)
{
    struct entity_cache c = entity_cache_mem_new(1 << 20);
    struct arena a;
    arena_init(&a, 0);
    struct status s = sample_status(11, "hello #cats #dogs @u7 @u9");
    struct status *sp = &s, *got[2];
    entity_cache_put_statuses(&c, entity_cache_ticket(&c), &sp, 1);
    uint64_t ids[] = {11, 12};
    cr_assert_eq(entity_cache_get_statuses(&c, ids, 2, &a, got), 1);
    cr_assert_null(got[1]);
    cr_assert_str_eq(got[0]->text, s.text);
    cr_assert_str_eq(got[0]->content, s.content);
    cr_assert_str_eq(got[0]->language, "en");
    cr_assert_eq(got[0]->visibility, VISIBILITY_UNLISTED);
    cr_assert_eq(got[0]->favourites_count, 4);
    cr_assert_eq(got[0]->nmentions, 2);
    cr_assert_eq(got[0]->mentions[1], 9);
    cr_assert_eq(got[0]->ntags, 2);
    cr_assert_str_eq(got[0]->tags[1], "dogs");
    cr_assert_neq((const void *)got[0]->tags, (const void *)s.tags);
    struct account acct = {.id = 42,
                           .username = "alice",
                           .email = "alice@example.org",
                           .display_name = "Alice <3",
                           .note = "",
                           .password_hash = "$argon2id$secret",
                           .followers_count = 8};
    struct account *ap = &acct, *gota;
    entity_cache_put_accounts(&c, entity_cache_ticket(&c), &ap, 1);
    cr_assert_eq(entity_cache_get_accounts(&c, &acct.id, 1, &a, &gota), 1);
    cr_assert_str_eq(gota->username, "alice");
    cr_assert_str_eq(gota->display_name, "Alice <3");
    cr_assert_eq(gota->followers_count, 8);
    cr_assert_str_eq(gota->email, "");
    cr_assert_str_eq(gota->password_hash, "", "no password hash leaves the database");
    arena_release(&a);
    entity_cache_close(&c);
}

Test(entity_cache_mem, a_put_older_than_an_invalidation_is_refused)
{
    struct entity_cache c = entity_cache_mem_new(1 << 20);
    struct arena a;
    arena_init(&a, 0);
    struct status s = sample_status(11, "old"), *sp = &s, *got;
    uint64_t id = 11;
    /* A reader takes its ticket, reads "old" from the store; a writer commits and
     * invalidates; the reader's put must not bring "old" back. */
    uint64_t ticket = entity_cache_ticket(&c);
    entity_cache_invalidate_status(&c, 11);
    entity_cache_put_statuses(&c, ticket, &sp, 1);
    cr_assert_eq(entity_cache_get_statuses(&c, &id, 1, &a, &got), 0);
    /* A ticket taken after the invalidation is fine. */
    entity_cache_put_statuses(&c, entity_cache_ticket(&c), &sp, 1);
    cr_assert_eq(entity_cache_get_statuses(&c, &id, 1, &a, &got), 1);
    /* Invalidation drops what is held. */
    entity_cache_invalidate_status(&c, 11);
    cr_assert_eq(entity_cache_get_statuses(&c, &id, 1, &a, &got), 0);
    struct entity_cache_stats st;
    entity_cache_stats(&c, &st);
    cr_assert_eq(st.stale_puts, 1);
    cr_assert_eq(st.invalidations, 2);
    arena_release(&a);
    entity_cache_close(&c);
}

Test(entity_cache_mem, favouriters_go_with_their_status)
{
    struct entity_cache c = entity_cache_mem_new(1 << 20);
    struct arena a;
    arena_init(&a, 0);
    uint64_t who[] = {7, 9, 11}, *ids;
    size_t n = 99;
    cr_assert(!entity_cache_get_favouriters(&c, 11, &a, &ids, &n));
    entity_cache_put_favouriters(&c, entity_cache_ticket(&c), 11, who, 3);
    entity_cache_put_favouriters(&c, entity_cache_ticket(&c), 12, NULL, 0);
    cr_assert(entity_cache_get_favouriters(&c, 11, &a, &ids, &n));
    cr_assert_eq(n, 3);
    cr_assert_eq(ids[2], 11);
    cr_assert(entity_cache_get_favouriters(&c, 12, &a, &ids, &n), "an empty list is known");
    cr_assert_eq(n, 0);
    uint64_t ticket = entity_cache_ticket(&c);
    entity_cache_invalidate_status(&c, 11); /* a favourite of status 11 committed */
    cr_assert(!entity_cache_get_favouriters(&c, 11, &a, &ids, &n));
    entity_cache_put_favouriters(&c, ticket, 11, who, 2); /* read before it: refused */
    cr_assert(!entity_cache_get_favouriters(&c, 11, &a, &ids, &n));
    cr_assert(entity_cache_get_favouriters(&c, 12, &a, &ids, &n));
    arena_release(&a);
    entity_cache_close(&c);
}

Test(entity_cache_mem, memory_stays_within_the_budget_and_recent_reads_stay)
{
    size_t budget = 1024 * 1024;
    struct entity_cache c = entity_cache_mem_new(budget);
    struct arena a;
    arena_init(&a, 0);
    char text[1024];
    memset(text, 'x', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    uint64_t hot = 1;
    for (uint64_t id = 1; id <= 5000; id++) {
        struct status s = sample_status(id, text), *sp = &s, *got;
        entity_cache_put_statuses(&c, entity_cache_ticket(&c), &sp, 1);
        /* Read the first one often: the least recently read go first, not it. */
        cr_assert_eq(entity_cache_get_statuses(&c, &hot, 1, &a, &got), 1, "after %llu",
                     (unsigned long long)id);
        arena_reset(&a);
    }
    struct entity_cache_stats st;
    entity_cache_stats(&c, &st);
    cr_assert_leq(st.bytes, budget + 96 * 1024, "%zu bytes held for a budget of %zu", st.bytes,
                  budget);
    cr_assert_gt(st.evictions, 4000);
    cr_assert_gt(st.statuses, 50);
    arena_release(&a);
    entity_cache_close(&c);
}

/* ---- the app: cached renders equal fresh ones ---- */

#define NACCOUNTS 6

static struct mem_db *db;
/* n1 and n2 have the caches; plain reads the stores only. */
static struct test_node n1, n2, plain;
static uint64_t acct[NACCOUNTS];

static void node_init(struct test_node *n, unsigned node, bool caches)
{
    fixture_node_init(n, db, node);
    if (caches) {
        n->c.home = home_feed_mem_new(400, 100);
        n->c.entities = entity_cache_mem_new(1 << 20);
    }
}

static void setup(void)
{
    db = mem_db_new();
    node_init(&n1, 1, true);
    node_init(&n2, 2, true);
    node_init(&plain, 3, false);
    fixture_add_accounts(&n1, acct, NACCOUNTS, true);
}

static void teardown(void)
{
    home_feed_close(&n1.c.home);
    home_feed_close(&n2.c.home);
    entity_cache_close(&n1.c.entities);
    entity_cache_close(&n2.c.entities);
    mem_db_free(db);
}

/* GET /api/v1/statuses/:id as viewer on node n: the JSON, or "error N". */
static char *render_status(struct test_node *n, uint64_t viewer, uint64_t id)
{
    struct arena a;
    struct err err = {0};
    struct status *s;
    arena_init(&a, 0);
    int rc = statuses_get(&n->c, viewer, id, &a, &s, &err);
    char *out;
    if (rc) {
        char buf[32];
        snprintf(buf, sizeof(buf), "error %d", rc);
        out = strdup(buf);
    } else {
        struct status_renderer r;
        api_status_renderer_init_arena(&r, &n->api, &a);
        r.viewer = viewer;
        cr_assert_eq(api_status_json(&r, s, false, &err), 0, "%s", err.msg);
        out = strndup(r.out.data, r.out.len);
        api_status_renderer_release(&r);
    }
    arena_release(&a);
    return out;
}

/* viewer's newest home page on node n, rendered. */
static char *render_home(struct test_node *n, uint64_t viewer)
{
    struct arena a;
    struct err err = {0};
    struct status_list l;
    arena_init(&a, 0);
    struct timeline_query q = {.kind = TIMELINE_HOME, .viewer_id = viewer, .page.limit = 20};
    cr_assert_eq(statuses_timeline(&n->c, &q, &a, &l, &err), 0, "%s", err.msg);
    struct status_renderer r;
    api_status_renderer_init_arena(&r, &n->api, &a);
    r.viewer = viewer;
    cr_assert_eq(api_status_list_json(&r, &l, &err), 0, "%s", err.msg);
    char *out = strndup(r.out.data ? r.out.data : "", r.out.len);
    api_status_renderer_release(&r);
    arena_release(&a);
    return out;
}

struct posted {
    uint64_t id, author;
};

/* Every posted status as seen by nobody and by each account, and every home page: node n
 * renders exactly what plain does. False (without failing) when they differ and !must. */
static bool same_renders(struct test_node *n, const struct posted *posted, size_t nposted,
                         bool must)
{
    for (size_t i = 0; i < nposted; i++) {
        for (int v = -1; v < NACCOUNTS; v++) {
            uint64_t viewer = v < 0 ? 0 : acct[v];
            char *got = render_status(n, viewer, posted[i].id);
            char *want = render_status(&plain, viewer, posted[i].id);
            bool same = strcmp(got, want) == 0;
            if (must)
                cr_assert(same, "status %llu for viewer %llu:\ncached %s\nfresh  %s",
                          (unsigned long long)posted[i].id, (unsigned long long)viewer, got, want);
            free(got);
            free(want);
            if (!same)
                return false;
        }
    }
    for (int v = 0; v < NACCOUNTS; v++) {
        char *got = render_home(n, acct[v]);
        char *want = render_home(&plain, acct[v]);
        bool same = strcmp(got, want) == 0;
        if (must)
            cr_assert(same, "home of %llu:\ncached %s\nfresh  %s", (unsigned long long)acct[v], got,
                      want);
        free(got);
        free(want);
        if (!same)
            return false;
    }
    return true;
}

/* One random write through core c. */
static void random_write(struct core *c, struct posted *posted, size_t *nposted)
{
    static const char *const vis[] = {"public", "unlisted", "private", "direct"};
    struct arena a;
    struct err err = {0};
    struct validation val = {0};
    arena_init(&a, 0);
    uint64_t r = fixture_rnd(100), who = fixture_rnd(NACCOUNTS), other = fixture_rnd(NACCOUNTS);
    fixture_now += 3;
    if (r < 30 || *nposted == 0) {
        char text[128];
        snprintf(text, sizeof(text), "hi %s%d #tag%d", fixture_rnd(2) ? "@user" : "user",
                 (int)other, (int)fixture_rnd(3));
        uint64_t parent = *nposted && fixture_rnd(2) ? posted[fixture_rnd(*nposted)].id : 0;
        struct post_request req = {text, vis[fixture_rnd(4)], parent, NULL, false, NULL, NULL};
        struct status *s;
        int rc = statuses_post(c, acct[who], &req, &a, &s, &val, &err);
        cr_assert(rc == 0 || (parent && rc == ERR_NOT_FOUND), "%s", err.msg);
        if (rc == 0)
            posted[(*nposted)++] = (struct posted){s->id, s->account_id};
    } else if (r < 38) {
        size_t k = fixture_rnd(*nposted);
        struct status *s;
        cr_assert_eq(statuses_delete(c, posted[k].author, posted[k].id, &a, &s, &err), 0, "%s",
                     err.msg);
        posted[k] = posted[--*nposted];
    } else if (r < 60) {
        struct status *s;
        int rc = statuses_favourite(c, acct[who], posted[fixture_rnd(*nposted)].id,
                                    fixture_rnd(3) != 0, &a, &s, &err);
        cr_assert(rc == 0 || rc == ERR_NOT_FOUND, "%s", err.msg);
    } else if (r < 80 && who != other) {
        struct relationship rel;
        cr_assert_eq(social_follow(c, acct[who], acct[other], fixture_rnd(3) != 0, &rel, &err), 0,
                     "%s", err.msg);
    } else if (r < 90) {
        struct relationship rel;
        int rc =
            social_answer_request(c, acct[NACCOUNTS - 1], acct[who], fixture_rnd(2), &rel, &err);
        cr_assert(rc == 0 || rc == ERR_NOT_FOUND, "%s", err.msg);
    } else {
        char name[32];
        snprintf(name, sizeof(name), "Name <%d>", (int)fixture_rnd(1000));
        struct profile_update u = {name, fixture_rnd(2) ? "a note & more" : NULL, -1,
                                   (int)fixture_rnd(2), -1};
        struct account *out;
        cr_assert_eq(auth_update_profile(c, acct[who], &u, &a, &out, &val, &err), 0, "%s", err.msg);
    }
    arena_release(&a);
}

Test(entities, cached_renders_equal_fresh_ones_after_every_write)
{
    struct posted posted[400];
    size_t nposted = 0;
    setup();
    for (int step = 0; step < 300; step++) {
        random_write(&n1.c, posted, &nposted);
        same_renders(&n1, posted, nposted, true);
    }
    struct entity_cache_stats st;
    entity_cache_stats(&n1.c.entities, &st);
    /* Not a test that passes by never using the cache. */
    cr_assert_gt(st.hits, 4 * st.misses, "hits %llu, misses %llu", (unsigned long long)st.hits,
                 (unsigned long long)st.misses);
    cr_assert_gt(st.invalidations, 100);
    teardown();
}

Test(entities, no_cache_reads_the_stores)
{
    struct posted posted[400];
    size_t nposted = 0;
    setup();
    entity_cache_close(&n1.c.entities);
    memset(&n1.c.entities, 0, sizeof(n1.c.entities));
    for (int step = 0; step < 40; step++)
        random_write(&n1.c, posted, &nposted);
    same_renders(&n1, posted, nposted, true);
    teardown();
}

Test(entities, another_node_sees_writes_through_the_outbox_tail)
{
    struct posted posted[400];
    size_t nposted = 0;
    setup();
    struct outbox_store outbox = outbox_store_mem(db);
    struct err err = {0};
    struct home_feed_tail *tail = home_feed_tail_start(&n2.c, &outbox, 5, NULL, &err);
    cr_assert_not_null(tail, "%s", err.msg);
    for (int round = 0; round < 8; round++) {
        /* Node 2 renders (and caches) everything, then node 1 writes. */
        same_renders(&n2, posted, nposted, false);
        for (int step = 0; step < 15; step++)
            random_write(&n1.c, posted, &nposted);
        bool same = false;
        for (int i = 0; i < 300 && !same; i++) {
            same = same_renders(&n2, posted, nposted, false);
            if (!same)
                nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        }
        cr_assert(same, "round %d: node 2 still renders what node 1 changed after 3 s", round);
    }
    same_renders(&n2, posted, nposted, true);
    struct entity_cache_stats st;
    entity_cache_stats(&n2.c.entities, &st);
    cr_assert_gt(st.invalidations, 20, "the tail invalidated on node 2");
    cr_assert_gt(st.hits, st.misses);
    home_feed_tail_stop(tail);
    teardown();
}
