/* test_home.c - the home timeline through the home feed cache (app/home.c) against the mem
 * stores: after every write of a random script (posts of each visibility with mentions,
 * deletions, follows, unfollows, follow requests accepted and rejected), every account's home
 * pages (newest, max_id, since_id, min_id) read through the cache are exactly the store's
 * home query; and a second core on the same database sees the first one's writes through the
 * outbox tail (adapters/cache/home_feed_tail.c). */
#include "services/threadly/adapters/cache/home_feed_tail.h"
#include "services/threadly/adapters/http/api.h"
#include "services/threadly/adapters/mem/home_feed_mem.h"
#include "services/threadly/adapters/mem/stores_mem.h"
#include "services/threadly/app/home.h"
#include "services/threadly/app/statuses.h"
#include "tests/unit/core_fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NACCOUNTS 6

static struct mem_db *db;
static struct test_node n1, n2;
static uint64_t acct[NACCOUNTS];

static void node_init(struct test_node *n, unsigned node, size_t capacity)
{
    fixture_node_init(n, db, node);
    n->c.home = home_feed_mem_new(capacity, 100);
}

static void setup(size_t capacity)
{
    db = mem_db_new();
    node_init(&n1, 1, capacity);
    node_init(&n2, 2, capacity);
    fixture_add_accounts(&n1, acct, NACCOUNTS, true);
}

static void teardown(void)
{
    home_feed_close(&n1.c.home);
    home_feed_close(&n2.c.home);
    mem_db_free(db);
}

/* The ids of a page read by the core (through the cache) and by the store. */
static void compare(struct core *c, uint64_t viewer, struct page page, const char *what)
{
    struct arena a;
    struct err err = {0};
    arena_init(&a, 0);
    struct timeline_query q = {.kind = TIMELINE_HOME, .viewer_id = viewer, .page = page};
    struct timeline_query t = q;
    struct status_list got, want;
    cr_assert_eq(statuses_timeline(c, &q, &a, &got, &err), 0, "%s", err.msg);
    t.page.limit = q.page.limit;
    cr_assert_eq(status_store_timeline(&c->statuses, &t, &a, &want, &err), 0, "%s", err.msg);
    cr_assert_eq(got.n, want.n, "%s, viewer %llu: %zu statuses, the store has %zu", what,
                 (unsigned long long)viewer, got.n, want.n);
    for (size_t i = 0; i < got.n; i++)
        cr_assert_eq(got.items[i].id, want.items[i].id, "%s, viewer %llu: item %zu", what,
                     (unsigned long long)viewer, i);
    arena_release(&a);
}

/* Every account's home pages, cursors taken from its timeline. */
static void compare_all(struct core *c)
{
    for (int v = 0; v < NACCOUNTS; v++) {
        struct arena a;
        struct err err = {0};
        arena_init(&a, 0);
        struct timeline_query q = {.kind = TIMELINE_HOME, .viewer_id = acct[v], .page.limit = 40};
        struct status_list all;
        cr_assert_eq(status_store_timeline(&c->statuses, &q, &a, &all, &err), 0);
        compare(c, acct[v], (struct page){.limit = 20}, "newest 20");
        compare(c, acct[v], (struct page){.limit = 3}, "newest 3");
        compare(c, acct[v], (struct page){.limit = 40}, "newest 40");
        for (size_t i = 0; i < all.n; i += 1 + all.n / 4) {
            uint64_t id = all.items[i].id;
            compare(c, acct[v], (struct page){.max_id = id, .limit = 3}, "max_id");
            compare(c, acct[v], (struct page){.since_id = id, .limit = 4}, "since_id");
            compare(c, acct[v], (struct page){.min_id = id, .limit = 2}, "min_id");
            compare(c, acct[v], (struct page){.max_id = id, .min_id = 1, .limit = 2},
                    "max_id and min_id");
        }
        arena_release(&a);
    }
}

struct posted {
    uint64_t id, author;
};

/* One random write through core c. */
static void random_write(struct core *c, struct posted *posted, size_t *nposted)
{
    static const char *const vis[] = {"public", "unlisted", "private", "direct"};
    struct arena a;
    struct err err = {0};
    arena_init(&a, 0);
    uint64_t r = fixture_rnd(100), who = fixture_rnd(NACCOUNTS), other = fixture_rnd(NACCOUNTS);
    fixture_now += 3;
    if (r < 45 || *nposted == 0) {
        char text[128];
        snprintf(text, sizeof(text), "hi %s%d %s%d", fixture_rnd(2) ? "@user" : "user", (int)other,
                 fixture_rnd(3) ? "" : "@user", (int)fixture_rnd(NACCOUNTS));
        struct post_request req = {text, vis[fixture_rnd(4)], 0, NULL, false, NULL, NULL};
        struct validation val = {0};
        struct status *s;
        cr_assert_eq(statuses_post(c, acct[who], &req, &a, &s, &val, &err), 0, "%s", err.msg);
        posted[(*nposted)++] = (struct posted){s->id, s->account_id};
    } else if (r < 55) {
        size_t k = fixture_rnd(*nposted);
        struct status *s;
        cr_assert_eq(statuses_delete(c, posted[k].author, posted[k].id, &a, &s, &err), 0, "%s",
                     err.msg);
        posted[k] = posted[--*nposted];
    } else if (r < 85 && who != other) {
        struct relationship rel;
        cr_assert_eq(social_follow(c, acct[who], acct[other], fixture_rnd(3) != 0, &rel, &err), 0,
                     "%s", err.msg);
    } else {
        struct relationship rel;
        int rc =
            social_answer_request(c, acct[NACCOUNTS - 1], acct[who], fixture_rnd(2), &rel, &err);
        cr_assert(rc == 0 || rc == ERR_NOT_FOUND, "%s", err.msg);
    }
    arena_release(&a);
}

static void script(size_t capacity, int steps)
{
    struct posted posted[400];
    size_t nposted = 0;
    setup(capacity);
    for (int step = 0; step < steps; step++) {
        random_write(&n1.c, posted, &nposted);
        if (step % 3 == 0)
            compare_all(&n1.c);
    }
    compare_all(&n1.c);
    struct home_feed_stats st;
    home_feed_stats(&n1.c.home, &st);
    /* Not a test that passes by never using the cache: the big feed answers most pages, the
     * small one the newest few. */
    cr_assert_gt(st.hits * (capacity > 100 ? 1 : 4), st.misses, "hits %llu, misses %llu",
                 (unsigned long long)st.hits, (unsigned long long)st.misses);
    cr_assert_gt(st.builds, NACCOUNTS);
    teardown();
}

Test(home, cached_pages_equal_the_store_query_after_every_write)
{
    script(400, 240);
}

Test(home, small_feeds_fall_back_to_the_store_past_what_they_hold)
{
    script(5, 240);
}

Test(home, no_cache_reads_the_store)
{
    setup(5);
    home_feed_close(&n1.c.home);
    memset(&n1.c.home, 0, sizeof(n1.c.home));
    struct posted posted[400];
    size_t nposted = 0;
    for (int step = 0; step < 30; step++)
        random_write(&n1.c, posted, &nposted);
    compare_all(&n1.c);
    teardown();
}

/* Reads viewer's newest page through c until it has (want) or lacks (!want) id, up to 3 s. */
static bool eventually(struct core *c, uint64_t viewer, uint64_t id, bool want)
{
    for (int i = 0; i < 300; i++) {
        struct arena a;
        struct err err = {0};
        arena_init(&a, 0);
        struct timeline_query q = {.kind = TIMELINE_HOME, .viewer_id = viewer, .page.limit = 20};
        struct status_list l;
        cr_assert_eq(statuses_timeline(c, &q, &a, &l, &err), 0, "%s", err.msg);
        bool has = false;
        for (size_t k = 0; k < l.n; k++)
            has |= l.items[k].id == id;
        arena_release(&a);
        if (has == want)
            return true;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return false;
}

Test(home, another_node_sees_writes_through_the_outbox_tail)
{
    setup(400);
    struct outbox_store outbox = outbox_store_mem(db);
    struct err err = {0};
    struct home_feed_tail *tail = home_feed_tail_start(&n2.c, &outbox, 5, NULL, &err);
    cr_assert_not_null(tail, "%s", err.msg);
    struct arena a;
    arena_init(&a, 0);
    struct relationship rel;
    struct status *s;
    struct validation val = {0};
    uint64_t alice = acct[0], bob = acct[1], carol = acct[2];
    cr_assert_eq(social_follow(&n1.c, bob, alice, true, &rel, &err), 0, "%s", err.msg);
    /* Bob's and Carol's feeds are built on node 2 before Alice posts on node 1. */
    cr_assert(eventually(&n2.c, bob, 1, false));
    cr_assert(eventually(&n2.c, carol, 1, false));
    struct post_request req = {"hello", "private", 0, NULL, false, NULL, NULL};
    cr_assert_eq(statuses_post(&n1.c, alice, &req, &a, &s, &val, &err), 0, "%s", err.msg);
    uint64_t id = s->id;
    cr_assert(eventually(&n2.c, bob, id, true), "the follower sees it on node 2");
    cr_assert(eventually(&n2.c, carol, id, false), "a private post is not for carol");
    struct post_request dm = {"psst @user2", "direct", 0, NULL, false, NULL, NULL};
    cr_assert_eq(statuses_post(&n1.c, alice, &dm, &a, &s, &val, &err), 0, "%s", err.msg);
    uint64_t dm_id = s->id;
    cr_assert(eventually(&n2.c, carol, dm_id, true), "mentioned in a direct post");
    cr_assert(eventually(&n2.c, bob, dm_id, false));
    cr_assert_eq(statuses_delete(&n1.c, alice, id, &a, &s, &err), 0, "%s", err.msg);
    cr_assert(eventually(&n2.c, bob, id, false), "deleted on node 1, gone on node 2");
    /* An unfollow on node 1 invalidates Bob's feed on node 2. */
    struct post_request pub = {"again", "unlisted", 0, NULL, false, NULL, NULL};
    cr_assert_eq(statuses_post(&n1.c, alice, &pub, &a, &s, &val, &err), 0, "%s", err.msg);
    cr_assert(eventually(&n2.c, bob, s->id, true));
    cr_assert_eq(social_follow(&n1.c, bob, alice, false, &rel, &err), 0, "%s", err.msg);
    cr_assert(eventually(&n2.c, bob, s->id, false), "unfollowed on node 1");
    compare_all(&n2.c);
    home_feed_tail_stop(tail);
    arena_release(&a);
    teardown();
}
