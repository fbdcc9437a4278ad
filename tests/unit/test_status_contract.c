/* test_status_contract.c - contract tests of the status and social store ports: every CONTRACT
 * case runs against each adapter (mem on one mem_db, sqlite on a fresh temporary file, pgsql on
 * a fresh schema of TEST_PG_URL). The status_store_sqlite and status_store_pgsql suites cover
 * what only the database does: threads, reconnection. */
#include "lib/base/arena.h"
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/mem/stores_mem.h"
#include "services/threadly/adapters/pgsql/stores_pgsql.h"
#include "services/threadly/adapters/sqlite/stores_sqlite.h"
#include "tests/unit/contract_fixture.h"
#include "tests/unit/pgsql_testdb.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* ---- the stores under test (fixture and CONTRACT: contract_fixture.h) ---- */

static void open_stores(struct fixture *f, enum adapter kind)
{
    if (kind == ADAPTER_MEM) {
        f->mem = mem_db_new();
        f->accounts = account_store_mem(f->mem);
        f->statuses = status_store_mem(f->mem);
        f->social = social_store_mem(f->mem);
    } else if (kind == ADAPTER_PGSQL) {
        f->accounts = account_store_pgsql(f->pg);
        f->statuses = status_store_pgsql(f->pg);
        f->social = social_store_pgsql(f->pg);
    } else {
        f->accounts = account_store_sqlite(f->db);
        f->statuses = status_store_sqlite(f->db);
        f->social = social_store_sqlite(f->db);
    }
}

static void close_stores(struct fixture *f)
{
    account_store_close(&f->accounts);
    status_store_close(&f->statuses);
    social_store_close(&f->social);
    mem_db_free(f->mem);
}

const struct contract_suite contract_suite = {"threadly-status", open_stores, close_stores};

/* ---- helpers ---- */

#define ALICE 1
#define BOB 2
#define CAROL 3

static void add_account(struct fixture *f, uint64_t id, const char *username)
{
    char email[64];
    snprintf(email, sizeof(email), "%s@x.example", username);
    struct account acct = {
        .id = id, .username = username, .email = email, .password_hash = "h", .created_at_ms = 1};
    cr_assert_eq(account_store_insert(&f->accounts, &acct, NULL, &f->err), 0, "%s", f->err.msg);
}

static void add_people(struct fixture *f)
{
    add_account(f, ALICE, "alice");
    add_account(f, BOB, "bob");
    add_account(f, CAROL, "carol");
}

static struct account *account(struct fixture *f, uint64_t id)
{
    struct account *got = NULL;
    cr_assert_eq(account_store_get(&f->accounts, id, &f->a, &got, &f->err), 0, "%s", f->err.msg);
    return got;
}

static struct status *status(struct fixture *f, uint64_t id)
{
    struct status *got = NULL;
    cr_assert_eq(status_store_get(&f->statuses, id, &f->a, &got, &f->err), 0, "%" PRIu64 ": %s", id,
                 f->err.msg);
    return got;
}

static struct status plain_status(uint64_t id, uint64_t author, enum visibility v)
{
    return (struct status){.id = id,
                           .account_id = author,
                           .text = "hello",
                           .content = "<p>hello</p>",
                           .visibility = v,
                           .created_at_ms = 1000 + (int64_t)id};
}

static void post(struct fixture *f, const struct status *s)
{
    cr_assert_eq(status_store_insert(&f->statuses, s, NULL, &f->err), 0, "status %" PRIu64 ": %s",
                 s->id, f->err.msg);
}

static void post_simple(struct fixture *f, uint64_t id, uint64_t author, enum visibility v)
{
    struct status s = plain_status(id, author, v);
    post(f, &s);
}

static void post_reply(struct fixture *f, uint64_t id, uint64_t author, uint64_t parent,
                       uint64_t parent_author)
{
    struct status s = plain_status(id, author, VISIBILITY_PUBLIC);
    s.in_reply_to_id = parent;
    s.in_reply_to_account_id = parent_author;
    post(f, &s);
}

static void follow(struct fixture *f, uint64_t id, uint64_t follower, uint64_t followee,
                   bool requested)
{
    bool created = false;
    cr_assert_eq(social_store_follow(&f->social, id, follower, followee, requested, 5, &created,
                                     NULL, &f->err),
                 0, "%s", f->err.msg);
    cr_assert(created);
}

/* Asserts that the list holds exactly the n ids of want, in that order. */
static void assert_ids(const struct status_list *got, const uint64_t *want, size_t n,
                       const char *what)
{
    char buf[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < got->n && used < sizeof(buf) - 24; i++)
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, " %" PRIu64, got->items[i].id);
    cr_assert_eq(got->n, n, "%s: %zu statuses, want %zu; got:%s", what, got->n, n, buf);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(got->items[i].id, want[i],
                     "%s: item %zu is %" PRIu64 ", want %" PRIu64 "; got:%s", what, i,
                     got->items[i].id, want[i], buf);
}

#define IDS(...) ((const uint64_t[]){__VA_ARGS__}), sizeof((const uint64_t[]){__VA_ARGS__}) / 8
#define NO_IDS NULL, 0

static struct status_list timeline(struct fixture *f, enum timeline_kind kind, uint64_t account_id,
                                   uint64_t viewer, struct page page)
{
    struct timeline_query q = {
        .kind = kind, .account_id = account_id, .viewer_id = viewer, .page = page};
    if (!q.page.limit)
        q.page.limit = 40;
    struct status_list out = {0};
    cr_assert_eq(status_store_timeline(&f->statuses, &q, &f->a, &out, &f->err), 0, "%s",
                 f->err.msg);
    return out;
}

static void assert_timeline(struct fixture *f, enum timeline_kind kind, uint64_t account_id,
                            uint64_t viewer, const uint64_t *want, size_t n, const char *what)
{
    struct status_list l = timeline(f, kind, account_id, viewer, (struct page){0});
    assert_ids(&l, want, n, what);
}

/* ---- status_store ---- */

CONTRACT(status_store, insert_get_round_trips_every_field)
{
    add_people(f);
    const uint64_t mentions[] = {CAROL, BOB, ALICE};
    const char *const tags[] = {"zeta", "alpha", "mu", "ünïcode"};
    post_simple(f, 100, BOB, VISIBILITY_PUBLIC);
    struct status want = {
        .id = INT64_C(9223372036854775000),
        .account_id = ALICE,
        .text = "Zoë's \"post\" '; DROP TABLE statuses; -- 🧵 %s ?1",
        .content = "<p>Zoë&#39;s &quot;post&quot;</p>",
        .spoiler_text = "cw: spoilers",
        .visibility = VISIBILITY_PRIVATE,
        .sensitive = true,
        .language = "fr",
        .in_reply_to_id = 100,
        .in_reply_to_account_id = BOB,
        .application_id = 77,
        .created_at_ms = 1795957323004,
        .nmentions = 3,
        .mentions = mentions,
        .ntags = 4,
        .tags = tags,
    };
    post(f, &want);
    struct status *got = status(f, want.id);
    cr_assert_eq(got->id, want.id);
    cr_assert_eq(got->account_id, ALICE);
    cr_assert_str_eq(got->text, want.text);
    cr_assert_str_eq(got->content, want.content);
    cr_assert_str_eq(got->spoiler_text, want.spoiler_text);
    cr_assert_eq(got->visibility, VISIBILITY_PRIVATE);
    cr_assert(got->sensitive);
    cr_assert_str_eq(got->language, "fr");
    cr_assert_eq(got->in_reply_to_id, 100);
    cr_assert_eq(got->in_reply_to_account_id, BOB);
    cr_assert_eq(got->application_id, 77);
    cr_assert_eq(got->created_at_ms, want.created_at_ms);
    cr_assert_eq(got->replies_count, 0);
    cr_assert_eq(got->favourites_count, 0);
    cr_assert_eq(got->reblogs_count, 0);
    cr_assert_eq(got->nmentions, 3);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(got->mentions[i], mentions[i], "mention %zu", i);
    cr_assert_eq(got->ntags, 4);
    for (size_t i = 0; i < 4; i++)
        cr_assert_str_eq(got->tags[i], tags[i], "tag %zu", i);

    /* No mentions, no tags, NULL optional strings, every visibility. */
    for (int v = VISIBILITY_PUBLIC; v <= VISIBILITY_DIRECT; v++) {
        struct status s = plain_status(200 + (uint64_t)v, CAROL, (enum visibility)v);
        post(f, &s);
        got = status(f, s.id);
        cr_assert_eq(got->visibility, (enum visibility)v);
        cr_assert_not(got->sensitive);
        cr_assert_str_eq(got->spoiler_text, "");
        cr_assert_str_eq(got->language, "");
        cr_assert_eq(got->nmentions, 0);
        cr_assert_eq(got->ntags, 0);
        cr_assert_eq(got->in_reply_to_id, 0);
        cr_assert_eq(got->application_id, 0);
    }
}

CONTRACT(status_store, counters_follow_insert_and_remove)
{
    add_people(f);
    post_simple(f, 10, ALICE, VISIBILITY_PUBLIC);
    struct account *a = account(f, ALICE);
    cr_assert_eq(a->statuses_count, 1);
    cr_assert_eq(a->last_status_at_ms, 1010);
    post_reply(f, 11, BOB, 10, ALICE);
    post_reply(f, 12, CAROL, 10, ALICE);
    post_reply(f, 13, ALICE, 10, ALICE);
    cr_assert_eq(status(f, 10)->replies_count, 3);
    cr_assert_eq(account(f, ALICE)->statuses_count, 2);
    cr_assert_eq(account(f, ALICE)->last_status_at_ms, 1013);
    cr_assert_eq(account(f, BOB)->statuses_count, 1);

    cr_assert_eq(status_store_remove(&f->statuses, 12, NULL, &f->err), 0, "%s", f->err.msg);
    cr_assert_eq(status(f, 10)->replies_count, 2);
    cr_assert_eq(account(f, CAROL)->statuses_count, 0);
    struct status *got = NULL;
    cr_assert_eq(status_store_get(&f->statuses, 12, &f->a, &got, &f->err), ERR_NOT_FOUND);

    /* Removing the parent leaves its replies, and removing those afterwards still works. */
    cr_assert_eq(status_store_remove(&f->statuses, 10, NULL, &f->err), 0, "%s", f->err.msg);
    cr_assert_eq(account(f, ALICE)->statuses_count, 1);
    cr_assert_eq(status(f, 11)->in_reply_to_id, 10);
    cr_assert_eq(status_store_remove(&f->statuses, 11, NULL, &f->err), 0, "%s", f->err.msg);
    cr_assert_eq(account(f, BOB)->statuses_count, 0);
}

CONTRACT(status_store, statuses_total_follows_inserts_and_removals)
{
    int64_t total = -1;
    add_people(f);
    cr_assert_eq(account_store_statuses_total(&f->accounts, &total, &f->err), 0, "%s", f->err.msg);
    cr_assert_eq(total, 0);
    post_simple(f, 20, ALICE, VISIBILITY_PUBLIC);
    post_simple(f, 21, BOB, VISIBILITY_DIRECT);
    post_reply(f, 22, CAROL, 20, ALICE);
    cr_assert_eq(account_store_statuses_total(&f->accounts, &total, &f->err), 0);
    cr_assert_eq(total, 3);
    cr_assert_eq(status_store_remove(&f->statuses, 21, NULL, &f->err), 0, "%s", f->err.msg);
    cr_assert_eq(account_store_statuses_total(&f->accounts, &total, &f->err), 0);
    cr_assert_eq(total, 2);
}

CONTRACT(status_store, get_many_in_order_with_repeats_and_holes)
{
    add_people(f);
    struct status s = plain_status(10, ALICE, VISIBILITY_PRIVATE);
    uint64_t mentions[] = {BOB, CAROL};
    const char *tags[] = {"x", "y"};
    s.mentions = mentions;
    s.nmentions = 2;
    s.tags = tags;
    s.ntags = 2;
    post(f, &s);
    post_simple(f, 11, BOB, VISIBILITY_PUBLIC);
    post_reply(f, 12, CAROL, 11, BOB);
    uint64_t ids[] = {12, 99, 10, 11, 12, 7};
    struct status *got[6];
    memset(got, 0xff, sizeof(got));
    cr_assert_eq(status_store_get_many(&f->statuses, ids, 6, &f->a, got, &f->err), 0, "%s",
                 f->err.msg);
    cr_assert(got[0] && got[0]->id == 12 && got[0]->in_reply_to_id == 11);
    cr_assert_null(got[1]);
    cr_assert(got[2] && got[2]->id == 10 && got[2]->visibility == VISIBILITY_PRIVATE);
    cr_assert_eq(got[2]->nmentions, 2);
    cr_assert(got[2]->mentions[0] == BOB && got[2]->mentions[1] == CAROL);
    cr_assert(got[2]->ntags == 2 && strcmp(got[2]->tags[1], "y") == 0);
    cr_assert(got[3] && got[3]->id == 11 && got[3]->replies_count == 1);
    cr_assert(got[4] && got[4]->id == 12);
    cr_assert_null(got[5]);
    cr_assert_eq(status_store_get_many(&f->statuses, ids, 0, &f->a, got, &f->err), 0);
    /* More than one adapter call's worth: split by the wrapper, order kept. */
    uint64_t many[STATUS_STORE_BATCH_MAX * 2 + 3];
    struct status *out[STATUS_STORE_BATCH_MAX * 2 + 3];
    size_t n = sizeof(many) / sizeof(many[0]);
    for (size_t i = 0; i < n; i++)
        many[i] = 10 + i % 4;
    cr_assert_eq(status_store_get_many(&f->statuses, many, n, &f->a, out, &f->err), 0, "%s",
                 f->err.msg);
    for (size_t i = 0; i < n; i++)
        cr_assert(i % 4 == 3 ? out[i] == NULL : out[i] && out[i]->id == many[i], "%zu", i);
}

CONTRACT(status_store, remove_missing_is_not_found)
{
    add_people(f);
    cr_assert_eq(status_store_remove(&f->statuses, 42, NULL, &f->err), ERR_NOT_FOUND);
    cr_assert_eq(f->err.code, ERR_NOT_FOUND);
    post_simple(f, 42, ALICE, VISIBILITY_PUBLIC);
    cr_assert_eq(status_store_remove(&f->statuses, 42, NULL, &f->err), 0);
    cr_assert_eq(status_store_remove(&f->statuses, 42, NULL, &f->err), ERR_NOT_FOUND);
    cr_assert_eq(account(f, ALICE)->statuses_count, 0);
}

CONTRACT(status_store, failed_inserts_store_nothing)
{
    add_people(f);
    const uint64_t mentions[] = {BOB};
    const char *const tags[] = {"x"};
    struct status orphan = plain_status(20, ALICE, VISIBILITY_PUBLIC);
    orphan.in_reply_to_id = 999;
    orphan.in_reply_to_account_id = BOB;
    orphan.nmentions = 1;
    orphan.mentions = mentions;
    orphan.ntags = 1;
    orphan.tags = tags;
    cr_assert_eq(status_store_insert(&f->statuses, &orphan, NULL, &f->err), ERR_NOT_FOUND);
    cr_assert_eq(f->err.code, ERR_NOT_FOUND);
    struct status *got = NULL;
    cr_assert_eq(status_store_get(&f->statuses, 20, &f->a, &got, &f->err), ERR_NOT_FOUND);
    cr_assert_eq(account(f, ALICE)->statuses_count, 0);
    cr_assert_eq(account(f, ALICE)->last_status_at_ms, 0);
    assert_timeline(f, TIMELINE_HOME, 0, BOB, NO_IDS, "home after failed insert");

    post_simple(f, 21, ALICE, VISIBILITY_PUBLIC);
    struct status dup = plain_status(21, BOB, VISIBILITY_PUBLIC);
    cr_assert_eq(status_store_insert(&f->statuses, &dup, NULL, &f->err), ERR_CONFLICT);
    cr_assert_eq(account(f, BOB)->statuses_count, 0);
    cr_assert_eq(status(f, 21)->account_id, ALICE);

    /* The same id works once the parent exists: the failed attempt left no trace. */
    orphan.in_reply_to_id = 21;
    post(f, &orphan);
    cr_assert_eq(status(f, 20)->nmentions, 1);
    cr_assert_eq(status(f, 21)->replies_count, 1);
}

CONTRACT(status_store, replies_oldest_first)
{
    add_people(f);
    post_simple(f, 10, ALICE, VISIBILITY_PUBLIC);
    post_simple(f, 11, ALICE, VISIBILITY_PUBLIC);
    post_reply(f, 14, BOB, 10, ALICE);
    post_reply(f, 12, CAROL, 10, ALICE);
    post_reply(f, 15, ALICE, 11, ALICE);
    post_reply(f, 13, ALICE, 10, ALICE);
    post_reply(f, 16, BOB, 12, CAROL); /* a reply to a reply is not a direct reply */
    struct status_list l = {0};
    cr_assert_eq(status_store_replies(&f->statuses, 10, &f->a, &l, &f->err), 0, "%s", f->err.msg);
    assert_ids(&l, IDS(12, 13, 14), "replies to 10");
    cr_assert_eq(status_store_replies(&f->statuses, 16, &f->a, &l, &f->err), 0);
    assert_ids(&l, NO_IDS, "replies to 16");
    cr_assert_eq(status_store_replies(&f->statuses, 999, &f->a, &l, &f->err), 0);
    assert_ids(&l, NO_IDS, "replies to a missing status");
}

/* An author read with a status (status.author) is the account row account_store_get reads,
 * counters included; pgsql reads it with every status it returns. */
static void assert_author(struct fixture *f, const struct status *s, const char *what)
{
    if (!s->author) {
        cr_assert_null(f->pg, "%s %" PRIu64 ": pgsql reads the author with the status", what,
                       s->id);
        return;
    }
    const struct account *got = s->author, *want = account(f, s->account_id);
    cr_assert_eq(got->id, want->id, "%s %" PRIu64, what, s->id);
    cr_assert_str_eq(got->username, want->username, "%s", what);
    cr_assert_str_eq(got->email, want->email, "%s", what);
    cr_assert_str_eq(got->display_name, want->display_name, "%s", what);
    cr_assert_str_eq(got->note, want->note, "%s", what);
    cr_assert_str_eq(got->password_hash, want->password_hash, "%s", what);
    cr_assert_eq(got->locked, want->locked, "%s", what);
    cr_assert_eq(got->bot, want->bot, "%s", what);
    cr_assert_eq(got->discoverable, want->discoverable, "%s", what);
    cr_assert_eq(got->created_at_ms, want->created_at_ms, "%s", what);
    cr_assert_eq(got->statuses_count, want->statuses_count, "%s", what);
    cr_assert_eq(got->followers_count, want->followers_count, "%s", what);
    cr_assert_eq(got->following_count, want->following_count, "%s", what);
    cr_assert_eq(got->last_status_at_ms, want->last_status_at_ms, "%s", what);
}

CONTRACT(status_store, authors_read_with_statuses_are_their_account_rows)
{
    add_people(f);
    struct account bob = *account(f, BOB);
    bob.display_name = "Bob B.";
    bob.note = "<p>hi</p>";
    bob.locked = true;
    bob.bot = true;
    cr_assert_eq(account_store_update_profile(&f->accounts, &bob, NULL, &f->err), 0, "%s",
                 f->err.msg);
    struct status s = plain_status(10, ALICE, VISIBILITY_PUBLIC);
    s.author = account(f, BOB); /* ignored by insert */
    post(f, &s);
    post_simple(f, 11, BOB, VISIBILITY_PUBLIC);
    post_reply(f, 12, ALICE, 11, BOB);
    post_reply(f, 13, CAROL, 11, BOB);
    struct status *one = status(f, 10);
    assert_author(f, one, "get");
    if (one->author)
        cr_assert_eq(one->author->statuses_count, 2, "read after both of alice's posts");
    const uint64_t ids[] = {11, 999, 12, 10, 11, 13};
    struct status *got[6];
    cr_assert_eq(status_store_get_many(&f->statuses, ids, 6, &f->a, got, &f->err), 0, "%s",
                 f->err.msg);
    cr_assert_null(got[1]);
    for (size_t i = 0; i < 6; i++)
        if (got[i])
            assert_author(f, got[i], "get_many");
    struct status_list l = timeline(f, TIMELINE_PUBLIC, 0, 0, (struct page){0});
    cr_assert_eq(l.n, 4);
    for (size_t i = 0; i < l.n; i++)
        assert_author(f, &l.items[i], "public timeline");
    l = timeline(f, TIMELINE_ACCOUNT, BOB, ALICE, (struct page){.min_id = 1, .limit = 5});
    cr_assert_eq(l.n, 1);
    assert_author(f, &l.items[0], "account timeline, oldest first");
    l = timeline(f, TIMELINE_HOME, CAROL, CAROL, (struct page){0});
    for (size_t i = 0; i < l.n; i++)
        assert_author(f, &l.items[i], "home timeline");
    cr_assert_eq(status_store_replies(&f->statuses, 11, &f->a, &l, &f->err), 0, "%s", f->err.msg);
    cr_assert_eq(l.n, 2);
    for (size_t i = 0; i < l.n; i++)
        assert_author(f, &l.items[i], "replies");
}

/* Alice, Bob and Carol. Bob follows Alice; Carol asked to follow Alice (pending).
 * Alice: 10 public, 11 unlisted, 12 private, 13 direct to Carol.
 * Bob: 20 public, 21 private, 22 direct to Alice.
 * Carol: 30 private mentioning Alice, 31 public. */
static void visibility_fixture(struct fixture *f)
{
    add_people(f);
    follow(f, 500, BOB, ALICE, false);
    follow(f, 501, CAROL, ALICE, true);
    const uint64_t to_carol[] = {CAROL}, to_alice[] = {ALICE};
    post_simple(f, 10, ALICE, VISIBILITY_PUBLIC);
    post_simple(f, 11, ALICE, VISIBILITY_UNLISTED);
    post_simple(f, 12, ALICE, VISIBILITY_PRIVATE);
    struct status s = plain_status(13, ALICE, VISIBILITY_DIRECT);
    s.nmentions = 1;
    s.mentions = to_carol;
    post(f, &s);
    post_simple(f, 20, BOB, VISIBILITY_PUBLIC);
    post_simple(f, 21, BOB, VISIBILITY_PRIVATE);
    s = plain_status(22, BOB, VISIBILITY_DIRECT);
    s.nmentions = 1;
    s.mentions = to_alice;
    post(f, &s);
    s = plain_status(30, CAROL, VISIBILITY_PRIVATE);
    s.nmentions = 1;
    s.mentions = to_alice;
    post(f, &s);
    post_simple(f, 31, CAROL, VISIBILITY_PUBLIC);
}

CONTRACT(status_store, public_timeline_is_public_statuses_only)
{
    visibility_fixture(f);
    assert_timeline(f, TIMELINE_PUBLIC, 0, 0, IDS(31, 20, 10), "public, anonymous");
    assert_timeline(f, TIMELINE_PUBLIC, 0, ALICE, IDS(31, 20, 10), "public, alice");
}

CONTRACT(status_store, home_timeline_rules)
{
    visibility_fixture(f);
    assert_timeline(f, TIMELINE_HOME, 0, ALICE, IDS(30, 22, 13, 12, 11, 10), "home of alice");
    assert_timeline(f, TIMELINE_HOME, 0, BOB, IDS(22, 21, 20, 12, 11, 10), "home of bob");
    /* Carol's request is pending: only her own statuses and the direct one to her. */
    assert_timeline(f, TIMELINE_HOME, 0, CAROL, IDS(31, 30, 13), "home of carol");
    cr_assert_eq(social_store_accept(&f->social, CAROL, ALICE, NULL, &f->err), 0, "%s", f->err.msg);
    assert_timeline(f, TIMELINE_HOME, 0, CAROL, IDS(31, 30, 13, 12, 11, 10),
                    "home of carol, accepted");
    bool removed = false;
    cr_assert_eq(social_store_unfollow(&f->social, BOB, ALICE, &removed, NULL, &f->err), 0);
    assert_timeline(f, TIMELINE_HOME, 0, BOB, IDS(22, 21, 20), "home of bob, unfollowed");
}

/* Bob follows n accounts (1000 + k), each posting one status (3000 + 2k), every fourth one
 * direct to nobody (not his to see); Alice, followed too, posts a private status mentioning
 * him halfway, which reaches him twice over and must show once. The home timeline, paged
 * newest first by max_id with limit 7, and one min_id page, must be exactly that set in
 * order. An adapter may answer small and large follow sets by different plans, hence two
 * sizes. */
static void home_many_followed(struct fixture *f, int n)
{
    add_people(f);
    follow(f, 500, BOB, ALICE, false);
    for (int k = 0; k < n; k++) {
        char name[32];
        snprintf(name, sizeof(name), "user%d", k);
        add_account(f, 1000 + (uint64_t)k, name);
        follow(f, 2000 + (uint64_t)k, BOB, 1000 + (uint64_t)k, false);
    }
    uint64_t want[200];
    size_t nwant = 0;
    for (int k = 0; k < n; k++) {
        bool direct = k % 4 == 3;
        uint64_t id = 3000 + 2 * (uint64_t)k;
        post_simple(f, id, 1000 + (uint64_t)k, direct ? VISIBILITY_DIRECT : VISIBILITY_PUBLIC);
        if (!direct)
            want[nwant++] = id;
        if (k == n / 2) { /* in the middle of the timeline */
            const uint64_t to_bob[] = {BOB};
            struct status s = plain_status(id + 1, ALICE, VISIBILITY_PRIVATE);
            s.nmentions = 1;
            s.mentions = to_bob;
            post(f, &s);
            want[nwant++] = id + 1;
        }
    }
    for (size_t i = 0; i < nwant / 2; i++) { /* newest first */
        uint64_t t = want[i];
        want[i] = want[nwant - 1 - i];
        want[nwant - 1 - i] = t;
    }
    size_t seen = 0;
    struct page page = {.limit = 7};
    for (;;) {
        struct status_list l = timeline(f, TIMELINE_HOME, 0, BOB, page);
        if (l.n == 0)
            break;
        cr_assert_leq(seen + l.n, nwant, "more statuses than there are");
        size_t want_n = nwant - seen < 7 ? nwant - seen : 7;
        assert_ids(&l, want + seen, want_n, "home page by max_id");
        seen += l.n;
        page.max_id = l.items[l.n - 1].id;
    }
    cr_assert_eq(seen, nwant, "pages held %zu statuses, want %zu", seen, nwant);
    /* The 7 right after the 10th newest, still newest first. */
    struct status_list l =
        timeline(f, TIMELINE_HOME, 0, BOB, (struct page){.min_id = want[10], .limit = 7});
    assert_ids(&l, want + 3, 7, "home page by min_id");
    /* Unfollowing Alice keeps her status that mentions Bob; unfollowing user0 drops his. */
    bool removed = false;
    cr_assert_eq(social_store_unfollow(&f->social, BOB, ALICE, &removed, NULL, &f->err), 0);
    cr_assert_eq(social_store_unfollow(&f->social, BOB, 1000, &removed, NULL, &f->err), 0);
    cr_assert(removed);
    cr_assert_eq(want[nwant - 1], 3000, "user0's status is the oldest");
    l = timeline(f, TIMELINE_HOME, 0, BOB, (struct page){.max_id = want[nwant - 9], .limit = 40});
    assert_ids(&l, want + nwant - 8, 7, "home after unfollowing user0 and alice");
    l = timeline(f, TIMELINE_HOME, 0, BOB, (struct page){.limit = 80});
    bool has_alice = false;
    for (size_t i = 0; i < l.n; i++)
        has_alice |= l.items[i].account_id == ALICE;
    cr_assert(has_alice, "alice's private status mentioning bob left his home on unfollow");
}

CONTRACT(status_store, home_timeline_with_few_followed_accounts)
{
    home_many_followed(f, 40);
}

CONTRACT(status_store, home_timeline_with_many_followed_accounts)
{
    home_many_followed(f, 130);
}

CONTRACT(status_store, account_timeline_rules)
{
    visibility_fixture(f);
    assert_timeline(f, TIMELINE_ACCOUNT, ALICE, 0, IDS(11, 10), "alice, anonymous");
    assert_timeline(f, TIMELINE_ACCOUNT, ALICE, ALICE, IDS(13, 12, 11, 10), "alice, by alice");
    assert_timeline(f, TIMELINE_ACCOUNT, ALICE, BOB, IDS(12, 11, 10), "alice, by follower bob");
    assert_timeline(f, TIMELINE_ACCOUNT, ALICE, CAROL, IDS(13, 11, 10), "alice, by carol");
    assert_timeline(f, TIMELINE_ACCOUNT, BOB, ALICE, IDS(22, 20), "bob, by alice");
    assert_timeline(f, TIMELINE_ACCOUNT, BOB, CAROL, IDS(20), "bob, by carol");
    assert_timeline(f, TIMELINE_ACCOUNT, BOB, BOB, IDS(22, 21, 20), "bob, by bob");
    assert_timeline(f, TIMELINE_ACCOUNT, CAROL, ALICE, IDS(31, 30), "carol, by alice");
    assert_timeline(f, TIMELINE_ACCOUNT, CAROL, BOB, IDS(31), "carol, by bob");
    cr_assert_eq(social_store_accept(&f->social, CAROL, ALICE, NULL, &f->err), 0, "%s", f->err.msg);
    assert_timeline(f, TIMELINE_ACCOUNT, ALICE, CAROL, IDS(13, 12, 11, 10),
                    "alice, by accepted carol");
}

CONTRACT(status_store, account_timeline_exclude_replies_keeps_self_replies)
{
    add_people(f);
    post_simple(f, 10, ALICE, VISIBILITY_PUBLIC);
    post_simple(f, 20, BOB, VISIBILITY_PUBLIC);
    post_reply(f, 40, ALICE, 20, BOB);
    post_reply(f, 41, ALICE, 10, ALICE);
    struct timeline_query q = {.kind = TIMELINE_ACCOUNT,
                               .account_id = ALICE,
                               .viewer_id = BOB,
                               .exclude_replies = true,
                               .page = {.limit = 40}};
    struct status_list l = {0};
    cr_assert_eq(status_store_timeline(&f->statuses, &q, &f->a, &l, &f->err), 0, "%s", f->err.msg);
    assert_ids(&l, IDS(41, 10), "exclude_replies");
    q.exclude_replies = false;
    cr_assert_eq(status_store_timeline(&f->statuses, &q, &f->a, &l, &f->err), 0);
    assert_ids(&l, IDS(41, 40, 10), "with replies");
}

/* Asserts the page of every timeline kind over statuses 1..15 of Alice (public), as seen by
 * Alice at home, anyone publicly and Bob on her account. */
static void assert_page(struct fixture *f, struct page page, const uint64_t *want, size_t n,
                        const char *what)
{
    static const enum timeline_kind kinds[] = {TIMELINE_HOME, TIMELINE_PUBLIC, TIMELINE_ACCOUNT};
    for (size_t k = 0; k < 3; k++) {
        struct status_list l =
            timeline(f, kinds[k], ALICE, kinds[k] == TIMELINE_HOME ? ALICE : BOB, page);
        char label[128];
        snprintf(label, sizeof(label), "%s (kind %d)", what, (int)kinds[k]);
        assert_ids(&l, want, n, label);
    }
}

CONTRACT(status_store, pagination)
{
    add_people(f);
    for (uint64_t id = 1; id <= 15; id++)
        post_simple(f, id, ALICE, VISIBILITY_PUBLIC);
    post_simple(f, 16, BOB, VISIBILITY_DIRECT); /* in no timeline here */
    assert_page(f, (struct page){.limit = 5}, IDS(15, 14, 13, 12, 11), "limit");
    assert_page(f, (struct page){.limit = 1}, IDS(15), "limit 1");
    assert_page(f, (struct page){.limit = 80},
                IDS(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1), "limit 80");
    assert_page(f, (struct page){.max_id = 11, .limit = 5}, IDS(10, 9, 8, 7, 6), "max_id");
    assert_page(f, (struct page){.max_id = 3, .limit = 5}, IDS(2, 1), "max_id near the end");
    assert_page(f, (struct page){.max_id = 1, .limit = 5}, NO_IDS, "max_id at the oldest");
    assert_page(f, (struct page){.max_id = 99, .limit = 2}, IDS(15, 14), "max_id past newest");
    assert_page(f, (struct page){.since_id = 3, .limit = 5}, IDS(15, 14, 13, 12, 11),
                "since_id: the newest page");
    assert_page(f, (struct page){.since_id = 12, .limit = 5}, IDS(15, 14, 13), "since_id few");
    assert_page(f, (struct page){.min_id = 3, .limit = 5}, IDS(8, 7, 6, 5, 4),
                "min_id: the page right after");
    assert_page(f, (struct page){.min_id = 12, .limit = 5}, IDS(15, 14, 13), "min_id few");
    assert_page(f, (struct page){.min_id = 15, .limit = 5}, NO_IDS, "min_id at the newest");
    assert_page(f, (struct page){.max_id = 6, .since_id = 3, .limit = 5}, IDS(5, 4),
                "max_id and since_id");
    assert_page(f, (struct page){.max_id = 12, .since_id = 3, .limit = 3}, IDS(11, 10, 9),
                "max_id and since_id, limited");
    assert_page(f, (struct page){.max_id = 12, .min_id = 3, .limit = 3}, IDS(6, 5, 4),
                "max_id and min_id, limited");
    assert_page(f, (struct page){.min_id = 3, .since_id = 5, .limit = 2}, IDS(7, 6),
                "min_id and since_id: the higher bound wins");
    assert_page(f, (struct page){.max_id = 4, .min_id = 3, .limit = 5}, NO_IDS, "empty window");

    /* Walking back with max_id visits every status once. */
    uint64_t max_id = 0, seen = 0;
    for (;;) {
        struct status_list l = timeline(f, TIMELINE_PUBLIC, 0, 0, (struct page){max_id, 0, 0, 4});
        if (!l.n)
            break;
        for (size_t i = 0; i < l.n; i++)
            cr_assert_eq(l.items[i].id, 15 - seen++);
        max_id = l.items[l.n - 1].id;
    }
    cr_assert_eq(seen, 15);
    /* And forward with min_id from the oldest (min_id 0 would mean "not given"). */
    uint64_t min_id = 1;
    seen = 1;
    for (;;) {
        struct status_list l = timeline(f, TIMELINE_PUBLIC, 0, 0, (struct page){0, 0, min_id, 4});
        if (!l.n)
            break;
        for (size_t i = 0; i < l.n; i++)
            cr_assert_eq(l.items[l.n - 1 - i].id, ++seen);
        min_id = l.items[0].id;
    }
    cr_assert_eq(seen, 15);
}

/* ---- social_store: follows ---- */

static struct relationship relationship(struct fixture *f, uint64_t a, uint64_t b)
{
    struct relationship r;
    memset(&r, 0xff, sizeof(r));
    cr_assert_eq(social_store_relationship(&f->social, a, b, &r, &f->err), 0, "%s", f->err.msg);
    return r;
}

static void assert_counts(struct fixture *f, uint64_t id, int64_t followers, int64_t following)
{
    struct account *a = account(f, id);
    cr_assert_eq(a->followers_count, followers, "account %" PRIu64 " followers %" PRId64, id,
                 a->followers_count);
    cr_assert_eq(a->following_count, following, "account %" PRIu64 " following %" PRId64, id,
                 a->following_count);
}

CONTRACT(social_store, follow_unfollow_idempotent_with_counters)
{
    add_people(f);
    follow(f, 100, ALICE, BOB, false);
    assert_counts(f, ALICE, 0, 1);
    assert_counts(f, BOB, 1, 0);
    bool created = true;
    cr_assert_eq(
        social_store_follow(&f->social, 101, ALICE, BOB, false, 6, &created, NULL, &f->err), 0);
    cr_assert_not(created);
    cr_assert_eq(social_store_follow(&f->social, 102, ALICE, BOB, true, 6, &created, NULL, &f->err),
                 0);
    cr_assert_not(created, "an existing follow is left as it is");
    assert_counts(f, ALICE, 0, 1);
    assert_counts(f, BOB, 1, 0);
    struct relationship r = relationship(f, ALICE, BOB);
    cr_assert(r.following);
    cr_assert_not(r.followed_by || r.requested || r.requested_by);

    /* The row id of a follow is unique. */
    cr_assert_eq(
        social_store_follow(&f->social, 100, CAROL, BOB, false, 6, &created, NULL, &f->err),
        ERR_CONFLICT);
    cr_assert_not(created);
    assert_counts(f, CAROL, 0, 0);
    assert_counts(f, BOB, 1, 0);

    bool removed = false;
    cr_assert_eq(social_store_unfollow(&f->social, ALICE, BOB, &removed, NULL, &f->err), 0);
    cr_assert(removed);
    assert_counts(f, ALICE, 0, 0);
    assert_counts(f, BOB, 0, 0);
    cr_assert_eq(social_store_unfollow(&f->social, ALICE, BOB, &removed, NULL, &f->err), 0);
    cr_assert_not(removed);
    assert_counts(f, BOB, 0, 0);
    r = relationship(f, ALICE, BOB);
    cr_assert_not(r.following || r.followed_by || r.requested || r.requested_by);
    follow(f, 103, ALICE, BOB, false); /* again, with a new row */
    assert_counts(f, BOB, 1, 0);
}

CONTRACT(social_store, request_then_accept)
{
    add_people(f);
    follow(f, 100, ALICE, BOB, true);
    assert_counts(f, ALICE, 0, 0);
    assert_counts(f, BOB, 0, 0);
    struct relationship r = relationship(f, ALICE, BOB);
    cr_assert(r.requested);
    cr_assert_not(r.following || r.followed_by || r.requested_by);
    r = relationship(f, BOB, ALICE);
    cr_assert(r.requested_by);
    cr_assert_not(r.following || r.followed_by || r.requested);

    cr_assert_eq(social_store_accept(&f->social, BOB, ALICE, NULL, &f->err), ERR_NOT_FOUND,
                 "the request goes the other way");
    cr_assert_eq(social_store_accept(&f->social, ALICE, BOB, NULL, &f->err), 0, "%s", f->err.msg);
    assert_counts(f, ALICE, 0, 1);
    assert_counts(f, BOB, 1, 0);
    r = relationship(f, ALICE, BOB);
    cr_assert(r.following);
    cr_assert_not(r.requested);
    cr_assert_eq(social_store_accept(&f->social, ALICE, BOB, NULL, &f->err), ERR_NOT_FOUND,
                 "already accepted");
    cr_assert_eq(f->err.code, ERR_NOT_FOUND);
    assert_counts(f, BOB, 1, 0);

    /* Withdrawing a request changes no counter. */
    follow(f, 101, CAROL, BOB, true);
    bool removed = false;
    cr_assert_eq(social_store_unfollow(&f->social, CAROL, BOB, &removed, NULL, &f->err), 0);
    cr_assert(removed);
    assert_counts(f, BOB, 1, 0);
    assert_counts(f, CAROL, 0, 0);
    cr_assert_eq(social_store_accept(&f->social, CAROL, BOB, NULL, &f->err), ERR_NOT_FOUND);
}

CONTRACT(social_store, relationship_both_ways)
{
    add_people(f);
    follow(f, 100, ALICE, BOB, false);
    follow(f, 101, BOB, ALICE, false);
    follow(f, 102, CAROL, ALICE, true);
    struct relationship r = relationship(f, ALICE, BOB);
    cr_assert(r.following && r.followed_by);
    cr_assert_not(r.requested || r.requested_by);
    r = relationship(f, ALICE, CAROL);
    cr_assert(r.requested_by);
    cr_assert_not(r.following || r.followed_by || r.requested);
    r = relationship(f, CAROL, ALICE);
    cr_assert(r.requested);
    cr_assert_not(r.following || r.followed_by || r.requested_by);
    r = relationship(f, BOB, CAROL);
    cr_assert_not(r.following || r.followed_by || r.requested || r.requested_by);
    assert_counts(f, ALICE, 1, 1);
    assert_counts(f, BOB, 1, 1);
}

static struct edge_list edges(struct fixture *f, enum edge_kind kind, uint64_t of, struct page page)
{
    struct edge_list out = {0};
    cr_assert_eq(social_store_edges(&f->social, kind, of, &page, &f->a, &out, &f->err), 0, "%s",
                 f->err.msg);
    return out;
}

/* want: pairs of (row id, account id). */
static void assert_edges(const struct edge_list *got, const uint64_t *want, size_t n2,
                         const char *what)
{
    cr_assert_eq(got->n, n2 / 2, "%s: %zu edges, want %zu", what, got->n, n2 / 2);
    for (size_t i = 0; i < got->n; i++) {
        cr_assert_eq(got->items[i].id, want[2 * i], "%s: edge %zu id %" PRIu64, what, i,
                     got->items[i].id);
        cr_assert_eq(got->items[i].account_id, want[2 * i + 1], "%s: edge %zu account %" PRIu64,
                     what, i, got->items[i].account_id);
    }
}

CONTRACT(social_store, edges_of_each_kind_paged_by_row_id)
{
    add_people(f);
    for (uint64_t id = 4; id <= 9; id++)
        add_account(f, id, (char[]){'u', (char)('0' + id), '\0'});
    /* Followers of Alice: 4..8 with rows 104..108 (6 only asked); Alice follows 9 and Bob. */
    for (uint64_t id = 4; id <= 8; id++)
        follow(f, 100 + id, id, ALICE, id == 6);
    follow(f, 120, ALICE, 9, false);
    follow(f, 121, ALICE, BOB, false);
    follow(f, 122, CAROL, ALICE, true);
    struct page all = {.limit = 40};
    struct edge_list l = edges(f, EDGES_FOLLOWERS, ALICE, all);
    assert_edges(&l, IDS(108, 8, 107, 7, 105, 5, 104, 4), "followers");
    l = edges(f, EDGES_FOLLOWING, ALICE, all);
    assert_edges(&l, IDS(121, BOB, 120, 9), "following");
    l = edges(f, EDGES_FOLLOW_REQUESTS, ALICE, all);
    assert_edges(&l, IDS(122, CAROL, 106, 6), "follow requests");
    l = edges(f, EDGES_FOLLOWERS, BOB, all);
    assert_edges(&l, IDS(121, ALICE), "followers of bob");
    l = edges(f, EDGES_FOLLOW_REQUESTS, BOB, all);
    assert_edges(&l, NO_IDS, "no requests");

    l = edges(f, EDGES_FOLLOWERS, ALICE, (struct page){.limit = 2});
    assert_edges(&l, IDS(108, 8, 107, 7), "followers, limit");
    l = edges(f, EDGES_FOLLOWERS, ALICE, (struct page){.max_id = 107, .limit = 2});
    assert_edges(&l, IDS(105, 5, 104, 4), "followers, max_id");
    l = edges(f, EDGES_FOLLOWERS, ALICE, (struct page){.since_id = 104, .limit = 2});
    assert_edges(&l, IDS(108, 8, 107, 7), "followers, since_id");
    l = edges(f, EDGES_FOLLOWERS, ALICE, (struct page){.min_id = 104, .limit = 2});
    assert_edges(&l, IDS(107, 7, 105, 5), "followers, min_id");

    /* Favourited by, in favourite order. */
    post_simple(f, 50, BOB, VISIBILITY_PUBLIC);
    bool created;
    const uint64_t favers[] = {CAROL, 7, ALICE};
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(
            social_store_favourite(&f->social, 300 + i, favers[i], 50, 9, &created, NULL, &f->err),
            0, "%s", f->err.msg);
    l = edges(f, EDGES_FAVOURITED_BY, 50, all);
    assert_edges(&l, IDS(302, ALICE, 301, 7, 300, CAROL), "favourited by");
    l = edges(f, EDGES_FAVOURITED_BY, 50, (struct page){.min_id = 300, .limit = 1});
    assert_edges(&l, IDS(301, 7), "favourited by, min_id");
    l = edges(f, EDGES_FAVOURITED_BY, 50, (struct page){.max_id = 301, .limit = 5});
    assert_edges(&l, IDS(300, CAROL), "favourited by, max_id");
}

/* ---- social_store: favourites ---- */

CONTRACT(social_store, favourite_unfavourite_idempotent_with_counter)
{
    add_people(f);
    post_simple(f, 10, ALICE, VISIBILITY_PUBLIC);
    bool created = false, removed = false, fav = true;
    cr_assert_eq(social_store_favourited(&f->social, BOB, 10, &fav, &f->err), 0);
    cr_assert_not(fav);
    cr_assert_eq(social_store_favourite(&f->social, 100, BOB, 10, 7, &created, NULL, &f->err), 0,
                 "%s", f->err.msg);
    cr_assert(created);
    cr_assert_eq(status(f, 10)->favourites_count, 1);
    cr_assert_eq(social_store_favourite(&f->social, 101, BOB, 10, 7, &created, NULL, &f->err), 0);
    cr_assert_not(created);
    cr_assert_eq(status(f, 10)->favourites_count, 1);
    cr_assert_eq(social_store_favourited(&f->social, BOB, 10, &fav, &f->err), 0);
    cr_assert(fav);
    cr_assert_eq(social_store_favourited(&f->social, CAROL, 10, &fav, &f->err), 0);
    cr_assert_not(fav);
    cr_assert_eq(social_store_favourite(&f->social, 102, CAROL, 10, 7, &created, NULL, &f->err), 0);
    cr_assert(created);
    cr_assert_eq(status(f, 10)->favourites_count, 2);
    /* A taken row id. */
    cr_assert_eq(social_store_favourite(&f->social, 100, ALICE, 10, 7, &created, NULL, &f->err),
                 ERR_CONFLICT);
    cr_assert_not(created);
    cr_assert_eq(status(f, 10)->favourites_count, 2);
    /* A missing status. */
    cr_assert_eq(social_store_favourite(&f->social, 103, ALICE, 99, 7, &created, NULL, &f->err),
                 ERR_NOT_FOUND);
    cr_assert_eq(f->err.code, ERR_NOT_FOUND);
    cr_assert_not(created);

    cr_assert_eq(social_store_unfavourite(&f->social, BOB, 10, &removed, NULL, &f->err), 0);
    cr_assert(removed);
    cr_assert_eq(status(f, 10)->favourites_count, 1);
    cr_assert_eq(social_store_unfavourite(&f->social, BOB, 10, &removed, NULL, &f->err), 0);
    cr_assert_not(removed);
    cr_assert_eq(status(f, 10)->favourites_count, 1);
    cr_assert_eq(social_store_unfavourite(&f->social, BOB, 99, &removed, NULL, &f->err), 0);
    cr_assert_not(removed);
    cr_assert_eq(social_store_favourited(&f->social, BOB, 10, &fav, &f->err), 0);
    cr_assert_not(fav);
}

CONTRACT(social_store, favourited_among_in_order)
{
    add_people(f);
    post_simple(f, 10, ALICE, VISIBILITY_PUBLIC);
    post_simple(f, 11, ALICE, VISIBILITY_PUBLIC);
    post_simple(f, 12, CAROL, VISIBILITY_PUBLIC);
    bool created = false;
    cr_assert_eq(social_store_favourite(&f->social, 100, BOB, 12, 7, &created, NULL, &f->err), 0,
                 "%s", f->err.msg);
    cr_assert_eq(social_store_favourite(&f->social, 101, BOB, 10, 7, &created, NULL, &f->err), 0);
    cr_assert_eq(social_store_favourite(&f->social, 102, CAROL, 11, 7, &created, NULL, &f->err), 0);

    /* Empty input: nothing asked, nothing written. */
    bool none[1] = {true};
    cr_assert_eq(social_store_favourited_among(&f->social, BOB, NULL, 0, none, &f->err), 0, "%s",
                 f->err.msg);
    cr_assert(none[0]);

    /* Mixed, a missing status, repeats; in the order asked. */
    const uint64_t ids[] = {12, 11, 99, 10, 12, 11};
    bool fav[6];
    memset(fav, 1, sizeof(fav));
    cr_assert_eq(social_store_favourited_among(&f->social, BOB, ids, 6, fav, &f->err), 0, "%s",
                 f->err.msg);
    cr_assert(fav[0]);
    cr_assert_not(fav[1]);
    cr_assert_not(fav[2]);
    cr_assert(fav[3]);
    cr_assert(fav[4]);
    cr_assert_not(fav[5]);
    /* One id, favourited and not. */
    cr_assert_eq(social_store_favourited_among(&f->social, BOB, ids, 1, fav, &f->err), 0);
    cr_assert(fav[0]);
    cr_assert_eq(social_store_favourited_among(&f->social, BOB, ids + 1, 1, fav, &f->err), 0);
    cr_assert_not(fav[0]);
    /* Another account's favourites are its own. */
    cr_assert_eq(social_store_favourited_among(&f->social, CAROL, ids, 6, fav, &f->err), 0);
    cr_assert_not(fav[0]);
    cr_assert(fav[1]);
    cr_assert_not(fav[2]);
    cr_assert_not(fav[3]);
    cr_assert_not(fav[4]);
    cr_assert(fav[5]);
    /* An account that favourited nothing, and one that does not exist. */
    memset(fav, 1, sizeof(fav));
    cr_assert_eq(social_store_favourited_among(&f->social, ALICE, ids, 6, fav, &f->err), 0);
    for (size_t i = 0; i < 6; i++)
        cr_assert_not(fav[i], "%zu", i);
    memset(fav, 1, sizeof(fav));
    cr_assert_eq(social_store_favourited_among(&f->social, 77, ids, 6, fav, &f->err), 0);
    for (size_t i = 0; i < 6; i++)
        cr_assert_not(fav[i], "%zu", i);
    /* Agrees with favourited after an unfavourite. */
    bool removed = false;
    cr_assert_eq(social_store_unfavourite(&f->social, BOB, 12, &removed, NULL, &f->err), 0);
    cr_assert_eq(social_store_favourited_among(&f->social, BOB, ids, 6, fav, &f->err), 0);
    cr_assert_not(fav[0]);
    cr_assert(fav[3]);
    cr_assert_not(fav[4]);
}

CONTRACT(social_store, favourited_among_splits_large_batches)
{
    add_people(f);
    post_simple(f, 10, ALICE, VISIBILITY_PUBLIC);
    bool created = false;
    cr_assert_eq(social_store_favourite(&f->social, 100, BOB, 10, 7, &created, NULL, &f->err), 0,
                 "%s", f->err.msg);
    enum { N = 2 * SOCIAL_STORE_BATCH_MAX + 3 };
    uint64_t ids[N];
    bool fav[N];
    for (size_t i = 0; i < N; i++)
        ids[i] = i % 3 ? 1000 + i : 10;
    cr_assert_eq(social_store_favourited_among(&f->social, BOB, ids, N, fav, &f->err), 0, "%s",
                 f->err.msg);
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(fav[i], i % 3 == 0, "%zu", i);
}

static void favourites(struct fixture *f, uint64_t account_id, struct page page,
                       struct status_list *out, uint64_t **ids)
{
    cr_assert_eq(social_store_favourites(&f->social, account_id, &page, &f->a, out, ids, &f->err),
                 0, "%s", f->err.msg);
}

CONTRACT(social_store, favourites_in_favourite_order_with_row_ids)
{
    add_people(f);
    for (uint64_t id = 10; id <= 15; id++)
        post_simple(f, id, ALICE, VISIBILITY_PUBLIC);
    /* Bob favourites 13, 10, 15, 11, 14 in that order (rows 200..204); Carol favourites 12. */
    const uint64_t order[] = {13, 10, 15, 11, 14};
    bool created;
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(
            social_store_favourite(&f->social, 200 + i, BOB, order[i], 1, &created, NULL, &f->err),
            0, "%s", f->err.msg);
    cr_assert_eq(social_store_favourite(&f->social, 300, CAROL, 12, 1, &created, NULL, &f->err), 0);
    struct status_list l = {0};
    uint64_t *ids = NULL;
    favourites(f, BOB, (struct page){.limit = 40}, &l, &ids);
    assert_ids(&l, IDS(14, 11, 15, 10, 13), "favourites");
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(ids[i], 204 - i);
    cr_assert_eq(l.items[0].favourites_count, 1);
    cr_assert_str_eq(l.items[0].content, "<p>hello</p>");

    favourites(f, BOB, (struct page){.limit = 2}, &l, &ids);
    assert_ids(&l, IDS(14, 11), "favourites, limit");
    favourites(f, BOB, (struct page){.max_id = 203, .limit = 2}, &l, &ids);
    assert_ids(&l, IDS(15, 10), "favourites, max_id");
    cr_assert_eq(ids[0], 202);
    cr_assert_eq(ids[1], 201);
    favourites(f, BOB, (struct page){.min_id = 200, .limit = 2}, &l, &ids);
    assert_ids(&l, IDS(15, 10), "favourites, min_id");
    cr_assert_eq(ids[0], 202);
    cr_assert_eq(ids[1], 201);
    favourites(f, BOB, (struct page){.since_id = 202, .limit = 40}, &l, &ids);
    assert_ids(&l, IDS(14, 11), "favourites, since_id");
    favourites(f, CAROL, (struct page){.limit = 40}, &l, &ids);
    assert_ids(&l, IDS(12), "favourites of carol");
    cr_assert_eq(ids[0], 300);
    favourites(f, ALICE, (struct page){.limit = 40}, &l, &ids);
    assert_ids(&l, NO_IDS, "no favourites");
}

CONTRACT(social_store, removing_a_status_removes_its_favourites)
{
    add_people(f);
    post_simple(f, 10, ALICE, VISIBILITY_PUBLIC);
    post_simple(f, 11, ALICE, VISIBILITY_PUBLIC);
    bool created, fav;
    cr_assert_eq(social_store_favourite(&f->social, 100, BOB, 10, 1, &created, NULL, &f->err), 0);
    cr_assert_eq(social_store_favourite(&f->social, 101, CAROL, 10, 1, &created, NULL, &f->err), 0);
    cr_assert_eq(social_store_favourite(&f->social, 102, BOB, 11, 1, &created, NULL, &f->err), 0);
    cr_assert_eq(status_store_remove(&f->statuses, 10, NULL, &f->err), 0, "%s", f->err.msg);

    cr_assert_eq(social_store_favourited(&f->social, BOB, 10, &fav, &f->err), 0);
    cr_assert_not(fav);
    struct edge_list e = edges(f, EDGES_FAVOURITED_BY, 10, (struct page){.limit = 40});
    assert_edges(&e, NO_IDS, "favourited by, removed status");
    struct status_list l = {0};
    uint64_t *ids = NULL;
    favourites(f, BOB, (struct page){.limit = 40}, &l, &ids);
    assert_ids(&l, IDS(11), "favourites after removal");
    cr_assert_eq(ids[0], 102);
    favourites(f, CAROL, (struct page){.limit = 40}, &l, &ids);
    assert_ids(&l, NO_IDS, "carol's favourite went with the status");
    cr_assert_eq(status(f, 11)->favourites_count, 1);
    cr_assert_eq(social_store_favourite(&f->social, 103, BOB, 10, 1, &created, NULL, &f->err),
                 ERR_NOT_FOUND);
    bool removed = true;
    cr_assert_eq(social_store_unfavourite(&f->social, BOB, 10, &removed, NULL, &f->err), 0);
    cr_assert_not(removed);
    /* The row ids of the removed favourites are free again. */
    cr_assert_eq(social_store_favourite(&f->social, 100, CAROL, 11, 1, &created, NULL, &f->err), 0,
                 "%s", f->err.msg);
    cr_assert(created);
    cr_assert_eq(status(f, 11)->favourites_count, 2);
}

/* ---- sqlite and pgsql only: concurrent writers keep counters exact ---- */

#define POSTERS 4
#define PER_POSTER 100

struct poster {
    struct status_store statuses;
    struct social_store social;
    int n;
    int failures;
    struct err err; /* the first failure */
};

static void *poster_main(void *p)
{
    struct poster *w = p;
    struct status_store *statuses = &w->statuses;
    struct social_store *social = &w->social;
    for (int i = 0; i < PER_POSTER; i++) {
        uint64_t id = 1000 + (uint64_t)w->n * PER_POSTER + (uint64_t)i;
        struct status s = plain_status(id, ALICE, VISIBILITY_PUBLIC);
        s.in_reply_to_id = 1;
        s.in_reply_to_account_id = ALICE;
        struct err err = {0};
        bool created = false;
        if (status_store_insert(statuses, &s, NULL, &err) != 0 ||
            social_store_favourite(social, id, BOB, 1, 1, &created, NULL, &err) != 0) {
            if (w->failures++ == 0)
                w->err = err;
        }
    }
    return NULL;
}

static void concurrent_posts(enum adapter kind)
{
    struct fixture f;
    fixture_open(&f, kind);
    add_people(&f);
    post_simple(&f, 1, ALICE, VISIBILITY_PUBLIC);
    struct poster w[POSTERS];
    pthread_t th[POSTERS];
    for (int i = 0; i < POSTERS; i++) {
        w[i] = (struct poster){.statuses = f.statuses, .social = f.social, .n = i};
        cr_assert_eq(pthread_create(&th[i], NULL, poster_main, &w[i]), 0);
    }
    for (int i = 0; i < POSTERS; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(w[i].failures, 0, "poster %d: %d failures, first: %s (%s)", i, w[i].failures,
                     w[i].err.msg, err_code_name(w[i].err.code));
    }
    cr_assert_eq(account(&f, ALICE)->statuses_count, 1 + POSTERS * PER_POSTER);
    cr_assert_eq(status(&f, 1)->replies_count, POSTERS * PER_POSTER);
    cr_assert_eq(status(&f, 1)->favourites_count, 1, "one favourite per account and status");
    struct status_list l = {0};
    cr_assert_eq(status_store_replies(&f.statuses, 1, &f.a, &l, &f.err), 0, "%s", f.err.msg);
    cr_assert_eq(l.n, POSTERS * PER_POSTER);
    fixture_close(&f);
}

Test(status_store_sqlite, concurrent_posts_keep_counters_exact)
{
    concurrent_posts(ADAPTER_SQLITE);
}

Test(status_store_pgsql, concurrent_posts_keep_counters_exact)
{
    concurrent_posts(ADAPTER_PGSQL);
}

/* ---- pgsql only: a lost connection inside the write path ---- */

Test(status_store_pgsql, writes_recover_after_the_backend_is_terminated)
{
    struct fixture f;
    fixture_open(&f, ADAPTER_PGSQL);
    add_people(&f);
    post_simple(&f, 1, ALICE, VISIBILITY_PUBLIC);
    for (int round = 0; round < 3; round++) {
        cr_assert_geq(pgsql_testdb_terminate(&f.pgt), 1, "no backend to terminate");
        uint64_t id = 10 + (uint64_t)round;
        struct status s = plain_status(id, BOB, VISIBILITY_PUBLIC);
        s.in_reply_to_id = 1;
        s.in_reply_to_account_id = ALICE;
        int rc = status_store_insert(&f.statuses, &s, NULL, &f.err);
        cr_assert(rc == 0 || rc == ERR_UNAVAILABLE, "%s (%s)", f.err.msg, err_code_name(rc));
        if (rc == ERR_UNAVAILABLE)
            post(&f, &s); /* nothing of the failed attempt was kept */
        bool created = false;
        cr_assert_eq(social_store_favourite(&f.social, id, ALICE, id, 1, &created, NULL, &f.err), 0,
                     "%s", f.err.msg);
        cr_assert(created);
    }
    cr_assert_eq(account(&f, BOB)->statuses_count, 3);
    cr_assert_eq(status(&f, 1)->replies_count, 3);
    cr_assert_eq(status(&f, 12)->favourites_count, 1);
    fixture_close(&f);
}
