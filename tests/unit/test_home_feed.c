/* test_home_feed.c - the home feed port (ports/home_feed.h): one suite of cases run on every
 * adapter in `adapters` (the in-process mem one today; a Redis adapter joins the table), plus
 * the pure rules of domain/home_feed.h it builds on. */
#include "services/threadly/adapters/mem/home_feed_mem.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

/* ---- the rules (domain/home_feed.h) ---- */

#define ME 1
#define FRIEND 2 /* followed by ME */
#define STRANGER 3

static const uint64_t my_followees[] = {FRIEND, 7, 9};

static bool sees(uint64_t author, enum visibility v, uint64_t mention)
{
    struct home_post p = {100, author, v, mention ? 1 : 0, &mention};
    return home_feed_sees(ME, my_followees, 3, &p);
}

Test(home_feed_rules, sees_exactly_what_the_home_query_selects)
{
    for (int v = 0; v < 4; v++)
        cr_assert(sees(ME, (enum visibility)v, 0), "own status, visibility %d", v);
    cr_assert(sees(FRIEND, VISIBILITY_PUBLIC, 0));
    cr_assert(sees(FRIEND, VISIBILITY_UNLISTED, 0));
    cr_assert(sees(FRIEND, VISIBILITY_PRIVATE, 0));
    cr_assert_not(sees(FRIEND, VISIBILITY_DIRECT, 0), "direct, not mentioned");
    cr_assert(sees(FRIEND, VISIBILITY_DIRECT, ME));
    cr_assert_not(sees(STRANGER, VISIBILITY_PUBLIC, 0));
    cr_assert_not(sees(STRANGER, VISIBILITY_PUBLIC, ME), "public mention of a non-follower");
    cr_assert_not(sees(STRANGER, VISIBILITY_UNLISTED, ME));
    cr_assert(sees(STRANGER, VISIBILITY_PRIVATE, ME));
    cr_assert(sees(STRANGER, VISIBILITY_DIRECT, ME));
    cr_assert_not(sees(STRANGER, VISIBILITY_DIRECT, FRIEND));
    struct home_post p = {100, ME, VISIBILITY_PUBLIC, 0, NULL};
    cr_assert_not(home_feed_sees(0, NULL, 0, &p), "anonymous has no home");
}

static size_t window(const uint64_t *ids, size_t n, bool complete, uint64_t hi, uint64_t lo,
                     size_t limit, bool oldest, uint64_t *out, bool *ok)
{
    struct home_window w = {hi, lo, limit, oldest};
    size_t got = 99;
    *ok = home_feed_window(ids, n, complete, &w, out, &got);
    return got;
}

Test(home_feed_rules, window_answers_only_what_the_feed_holds)
{
    const uint64_t ids[] = {10, 20, 30, 40, 50}; /* every id of the timeline from 10 up */
    uint64_t out[8];
    bool ok;
    cr_assert_eq(window(ids, 5, false, 1000, 0, 3, false, out, &ok), 3);
    cr_assert(ok && out[0] == 50 && out[1] == 40 && out[2] == 30);
    /* max_id 40 -> hi 39 */
    cr_assert_eq(window(ids, 5, false, 39, 0, 3, false, out, &ok), 3);
    cr_assert(ok && out[0] == 30 && out[2] == 10);
    /* Fewer than limit left and the feed may not hold what is older. */
    window(ids, 5, false, 39, 0, 4, false, out, &ok);
    cr_assert_not(ok);
    /* ... unless the feed is the whole timeline. */
    cr_assert_eq(window(ids, 5, true, 39, 0, 4, false, out, &ok), 3);
    cr_assert(ok);
    /* since_id 20: everything above it is held. */
    cr_assert_eq(window(ids, 5, false, 1000, 20, 10, false, out, &ok), 3);
    cr_assert(ok && out[0] == 50 && out[2] == 30);
    /* since_id 5 reaches below 10: the store must answer ... */
    window(ids, 5, false, 1000, 5, 10, false, out, &ok);
    cr_assert_not(ok);
    /* ... but not if the newest limit are in the feed anyway. */
    cr_assert_eq(window(ids, 5, false, 1000, 5, 2, false, out, &ok), 2);
    cr_assert(ok && out[0] == 50);
    /* min_id 20: the limit ids right above it, newest first. */
    cr_assert_eq(window(ids, 5, false, 1000, 20, 2, true, out, &ok), 2);
    cr_assert(ok && out[0] == 40 && out[1] == 30);
    /* min_id 9 (lo + 1 == oldest): still exact. */
    cr_assert_eq(window(ids, 5, false, 1000, 9, 2, true, out, &ok), 2);
    cr_assert(ok && out[0] == 20 && out[1] == 10);
    /* min_id 5: ids in (5, 10) may exist, held nowhere. */
    window(ids, 5, false, 1000, 5, 2, true, out, &ok);
    cr_assert_not(ok);
    cr_assert_eq(window(ids, 5, true, 1000, 5, 2, true, out, &ok), 2);
    cr_assert(ok && out[0] == 20 && out[1] == 10);
    /* An empty range, and an empty complete feed. */
    cr_assert_eq(window(ids, 5, false, 20, 20, 5, false, out, &ok), 0);
    cr_assert(ok);
    cr_assert_eq(window(ids, 0, true, 1000, 0, 5, false, out, &ok), 0);
    cr_assert(ok);
    window(ids, 0, false, 1000, 0, 5, false, out, &ok);
    cr_assert_not(ok);
}

/* ---- the port, on every adapter ---- */

struct adapter {
    const char *name;
    struct home_feed (*open)(size_t capacity, size_t max_accounts);
};

static const struct adapter adapters[] = {
    {"mem", home_feed_mem_new},
};
#define NADAPTERS (sizeof(adapters) / sizeof(adapters[0]))

/* Reads the newest `limit` of account's feed; returns how many, -1 when not answered. */
static int newest(struct home_feed *f, uint64_t account, size_t limit, uint64_t *out)
{
    struct home_window w = {INT64_MAX, 0, limit, false};
    size_t n;
    bool answered;
    struct err err = {0};
    cr_assert_eq(home_feed_read(f, account, &w, out, &n, &answered, &err), 0);
    return answered ? (int)n : -1;
}

static void build(struct home_feed *f, uint64_t account, const uint64_t *followees, size_t nf,
                  const uint64_t *ids, size_t n, bool complete)
{
    uint64_t t = home_feed_build_begin(f, account);
    cr_assert_neq(t, 0, "account %llu", (unsigned long long)account);
    home_feed_build_end(f, t, followees, nf, ids, n, complete);
}

static void post(struct home_feed *f, uint64_t id, uint64_t author, enum visibility v,
                 uint64_t mention)
{
    struct home_post p = {id, author, v, mention ? 1 : 0, &mention};
    home_feed_created(f, &p);
}

#define EACH_ADAPTER(f, cap, max)                                                                  \
    for (size_t ai_ = 0; ai_ < NADAPTERS; ai_++)                                                   \
        for (struct home_feed f = adapters[ai_].open(cap, max), *once_ = &f; once_;                \
             home_feed_close(&f), once_ = NULL)

Test(home_feed, an_unbuilt_feed_is_not_answered_and_a_built_one_is)
{
    EACH_ADAPTER(f, 10, 100)
    {
        uint64_t out[10];
        cr_assert_eq(newest(&f, ME, 5, out), -1);
        const uint64_t ids[] = {10, 20, 30};
        build(&f, ME, my_followees, 3, ids, 3, true);
        cr_assert_eq(newest(&f, ME, 5, out), 3);
        cr_assert(out[0] == 30 && out[2] == 10);
        cr_assert_eq(home_feed_build_begin(&f, ME), 0, "held already");
        cr_assert_eq(newest(&f, FRIEND, 5, out), -1, "another account");
        struct home_feed_stats st;
        home_feed_stats(&f, &st);
        cr_assert(st.accounts == 1 && st.hits == 1 && st.misses == 2 && st.builds == 1);
        cr_assert_gt(st.bytes, 0);
    }
}

Test(home_feed, new_statuses_reach_exactly_the_feeds_that_see_them)
{
    EACH_ADAPTER(f, 10, 100)
    {
        uint64_t out[10];
        const uint64_t none[] = {0};
        build(&f, ME, my_followees, 3, NULL, 0, true);
        build(&f, STRANGER, none, 0, NULL, 0, true);
        post(&f, 100, FRIEND, VISIBILITY_PUBLIC, 0);
        post(&f, 101, FRIEND, VISIBILITY_DIRECT, STRANGER);
        post(&f, 102, STRANGER, VISIBILITY_PUBLIC, ME);
        post(&f, 103, STRANGER, VISIBILITY_PRIVATE, ME);
        post(&f, 104, ME, VISIBILITY_DIRECT, 0);
        post(&f, 100, FRIEND, VISIBILITY_PUBLIC, 0); /* again: idempotent */
        cr_assert_eq(newest(&f, ME, 10, out), 3);
        cr_assert(out[0] == 104 && out[1] == 103 && out[2] == 100);
        cr_assert_eq(newest(&f, STRANGER, 10, out), 3);
        cr_assert(out[0] == 103 && out[1] == 102 && out[2] == 101);
    }
}

Test(home_feed, deleted_statuses_leave_every_feed)
{
    EACH_ADAPTER(f, 10, 100)
    {
        uint64_t out[10];
        const uint64_t ids[] = {10, 20, 30};
        build(&f, ME, my_followees, 3, ids, 3, true);
        build(&f, FRIEND, my_followees, 0, ids, 3, true);
        home_feed_deleted(&f, 20);
        home_feed_deleted(&f, 20);
        home_feed_deleted(&f, 999);
        cr_assert_eq(newest(&f, ME, 10, out), 2);
        cr_assert(out[0] == 30 && out[1] == 10);
        cr_assert_eq(newest(&f, FRIEND, 10, out), 2);
    }
}

Test(home_feed, a_full_feed_drops_its_oldest_and_stops_answering_below)
{
    EACH_ADAPTER(f, 4, 100)
    {
        uint64_t out[10];
        const uint64_t ids[] = {10, 20, 30};
        build(&f, ME, my_followees, 3, ids, 3, true);
        post(&f, 40, ME, VISIBILITY_PUBLIC, 0);
        cr_assert_eq(newest(&f, ME, 10, out), 4, "complete still");
        post(&f, 50, ME, VISIBILITY_PUBLIC, 0);
        cr_assert_eq(newest(&f, ME, 4, out), 4);
        cr_assert(out[0] == 50 && out[3] == 20);
        cr_assert_eq(newest(&f, ME, 5, out), -1, "10 was dropped: the store answers");
        post(&f, 15, FRIEND, VISIBILITY_PUBLIC, 0); /* older than the feed holds */
        cr_assert_eq(newest(&f, ME, 4, out), 4);
        cr_assert_eq(out[3], 20);
        post(&f, 45, FRIEND, VISIBILITY_PUBLIC, 0); /* late commit of an older id */
        cr_assert_eq(newest(&f, ME, 4, out), 4);
        cr_assert(out[0] == 50 && out[1] == 45 && out[3] == 30);
        /* A build with more ids than the capacity keeps the newest. */
        const uint64_t many[] = {1, 2, 3, 4, 5, 6};
        build(&f, FRIEND, my_followees, 0, many, 6, true);
        cr_assert_eq(newest(&f, FRIEND, 4, out), 4);
        cr_assert(out[0] == 6 && out[3] == 3);
        cr_assert_eq(newest(&f, FRIEND, 5, out), -1);
        /* Run many appends through the slack of the buffer. */
        for (uint64_t id = 100; id < 1000; id++)
            post(&f, id, ME, VISIBILITY_PUBLIC, 0);
        cr_assert_eq(newest(&f, ME, 4, out), 4);
        cr_assert(out[0] == 999 && out[3] == 996);
    }
}

Test(home_feed, invalidated_feeds_are_built_again)
{
    EACH_ADAPTER(f, 10, 100)
    {
        uint64_t out[10];
        const uint64_t ids[] = {10};
        build(&f, ME, my_followees, 3, ids, 1, true);
        home_feed_invalidate(&f, ME);
        home_feed_invalidate(&f, STRANGER); /* nothing held: nothing happens */
        cr_assert_eq(newest(&f, ME, 10, out), -1);
        build(&f, ME, my_followees, 1, ids, 1, true);
        cr_assert_eq(newest(&f, ME, 10, out), 1);
    }
}

Test(home_feed, writes_during_a_build_are_applied_at_its_end)
{
    EACH_ADAPTER(f, 10, 100)
    {
        uint64_t out[10];
        uint64_t t = home_feed_build_begin(&f, ME);
        cr_assert_neq(t, 0);
        cr_assert_eq(home_feed_build_begin(&f, ME), 0, "one build at a time");
        cr_assert_eq(newest(&f, ME, 10, out), -1, "not readable while built");
        post(&f, 40, FRIEND, VISIBILITY_PUBLIC, 0);    /* the store read missed it */
        post(&f, 41, STRANGER, VISIBILITY_PUBLIC, 0);  /* not for ME */
        post(&f, 42, STRANGER, VISIBILITY_DIRECT, ME); /* for ME: mentioned */
        post(&f, 30, FRIEND, VISIBILITY_PUBLIC, 0);    /* the store read had it */
        home_feed_deleted(&f, 20);                     /* the store read still had it */
        const uint64_t ids[] = {10, 20, 30};
        home_feed_build_end(&f, t, my_followees, 3, ids, 3, true);
        cr_assert_eq(newest(&f, ME, 10, out), 4);
        cr_assert(out[0] == 42 && out[1] == 40 && out[2] == 30 && out[3] == 10);
        /* A follow change during a build: the build is dropped. */
        t = home_feed_build_begin(&f, FRIEND);
        home_feed_invalidate(&f, FRIEND);
        home_feed_build_end(&f, t, my_followees, 3, ids, 3, true);
        cr_assert_eq(newest(&f, FRIEND, 10, out), -1);
        /* An aborted build leaves nothing behind. */
        t = home_feed_build_begin(&f, FRIEND);
        home_feed_build_abort(&f, t);
        cr_assert_eq(newest(&f, FRIEND, 10, out), -1);
        cr_assert_neq(home_feed_build_begin(&f, FRIEND), 0);
    }
}

Test(home_feed, the_least_recently_read_feed_is_evicted)
{
    EACH_ADAPTER(f, 10, 2)
    {
        uint64_t out[10];
        const uint64_t ids[] = {10};
        build(&f, 1, NULL, 0, ids, 1, true);
        build(&f, 2, NULL, 0, ids, 1, true);
        cr_assert_eq(newest(&f, 1, 10, out), 1); /* 2 is now the least recent */
        build(&f, 3, NULL, 0, ids, 1, true);
        cr_assert_eq(newest(&f, 2, 10, out), -1);
        cr_assert_eq(newest(&f, 1, 10, out), 1);
        cr_assert_eq(newest(&f, 3, 10, out), 1);
        struct home_feed_stats st;
        home_feed_stats(&f, &st);
        cr_assert(st.accounts == 2 && st.evictions == 1);
    }
}

/* Readers, writers and builders at once: nothing is lost or torn (run under ASan/TSan). */
struct hammer {
    struct home_feed *f;
    int role;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    uint64_t out[40];
    for (uint64_t i = 1; i <= 3000; i++) {
        uint64_t account = 1 + i % 50;
        if (h->role == 0) {
            if (newest(h->f, account, 40, out) < 0) {
                uint64_t t = home_feed_build_begin(h->f, account);
                if (t)
                    home_feed_build_end(h->f, t, NULL, 0, NULL, 0, true);
            }
        } else if (h->role == 1) {
            post(h->f, 1000 + i, account, VISIBILITY_PUBLIC, 0);
        } else if (i % 3 == 0) {
            home_feed_invalidate(h->f, account);
        } else {
            home_feed_deleted(h->f, 1000 + i - 7);
        }
    }
    return NULL;
}

Test(home_feed, concurrent_use)
{
    EACH_ADAPTER(f, 16, 20)
    {
        pthread_t th[4];
        struct hammer h[4] = {{&f, 0}, {&f, 0}, {&f, 1}, {&f, 2}};
        for (int i = 0; i < 4; i++)
            cr_assert_eq(pthread_create(&th[i], NULL, hammer_main, &h[i]), 0);
        for (int i = 0; i < 4; i++)
            pthread_join(th[i], NULL);
        struct home_feed_stats st;
        home_feed_stats(&f, &st);
        cr_assert_leq(st.accounts, 20);
        uint64_t out[40];
        for (uint64_t a = 1; a <= 50; a++) {
            int n = newest(&f, a, 40, out);
            for (int i = 1; i < n; i++)
                cr_assert_gt(out[i - 1], out[i]);
        }
    }
}
