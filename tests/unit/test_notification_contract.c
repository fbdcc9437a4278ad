/* test_notification_contract.c - the notification_store contract, run on every adapter: mem,
 * sqlite (a temporary file) and pgsql (a fresh schema of TEST_PG_URL, else a visible SKIP). */
#include "services/notification/adapters/mem/notification_store_mem.h"
#include "services/notification/adapters/pgsql/notification_store_pgsql.h"
#include "services/notification/adapters/sqlite/notification_store_sqlite.h"
#include "tests/unit/pgsql_testdb.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum adapter { ADAPTER_MEM, ADAPTER_SQLITE, ADAPTER_PGSQL };

struct fixture {
    char dir[64], path[128];
    struct sqlite_db *db;
    struct pgsql_testdb pgt;
    struct pgsql_db *pg;
    struct notification_store s;
    struct arena a;
    struct err err;
};

static void fixture_open(struct fixture *f, enum adapter kind)
{
    memset(f, 0, sizeof(*f));
    arena_init(&f->a, 4096);
    if (kind == ADAPTER_MEM) {
        f->s = notification_store_mem_new();
    } else if (kind == ADAPTER_SQLITE) {
        snprintf(f->dir, sizeof(f->dir), "%s/notif-contract-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        cr_assert_not_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/n.db", f->dir);
        f->db = notification_sqlite_open(f->path, &f->err);
        cr_assert_not_null(f->db, "%s", f->err.msg);
        f->s = notification_store_sqlite(f->db);
    } else {
        pgsql_testdb_create(&f->pgt);
        f->pg = notification_pgsql_open(f->pgt.url, &f->err);
        cr_assert_not_null(f->pg, "%s", f->err.msg);
        f->s = notification_store_pgsql(f->pg);
    }
}

static void fixture_close(struct fixture *f)
{
    notification_store_close(&f->s);
    if (f->db) {
        sqlite_db_close(f->db);
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
        cr_assert_eq(system(cmd), 0);
    }
    if (f->pg) {
        pgsql_db_close(f->pg);
        pgsql_testdb_drop(&f->pgt);
    }
    arena_release(&f->a);
}

static void run(enum adapter kind, void (*body)(struct fixture *))
{
    struct fixture f;
    fixture_open(&f, kind);
    body(&f);
    fixture_close(&f);
}

#define CONTRACT(name)                                                                             \
    static void contract_##name(struct fixture *f);                                                \
    Test(notification_store, name##_mem)                                                           \
    {                                                                                              \
        run(ADAPTER_MEM, contract_##name);                                                         \
    }                                                                                              \
    Test(notification_store, name##_sqlite)                                                        \
    {                                                                                              \
        run(ADAPTER_SQLITE, contract_##name);                                                      \
    }                                                                                              \
    Test(notification_store, name##_pgsql)                                                         \
    {                                                                                              \
        run(ADAPTER_PGSQL, contract_##name);                                                       \
    }                                                                                              \
    static void contract_##name(struct fixture *f)

/* ---- helpers: events as the app would hand them over ---- */

#define ALICE 1001
#define BOB 1002
#define CAROL 1003

static uint64_t next_id = 5000;

/* An item creating one notification of type for recipient from actor, about status (0: none). */
static struct batch_item create(struct arena *a, uint64_t event_id, enum notification_type type,
                                uint64_t recipient, uint64_t actor, uint64_t status,
                                const char *cause)
{
    struct event_changes *ch = arena_calloc(a, 1, sizeof(*ch));
    ch->creates = arena_calloc(a, 1, sizeof(*ch->creates));
    ch->ncreates = 1;
    struct notification_new *n = &ch->creates[0];
    n->type = type;
    n->recipient_id = recipient;
    n->account_id = actor;
    n->account_json =
        arena_sprintf(a, "{\"id\":\"%llu\",\"note\":\"snapshot\"}", (unsigned long long)actor);
    n->status_id = status;
    n->status_json =
        status ? arena_sprintf(a, "{\"id\":\"%llu\"}", (unsigned long long)status) : NULL;
    snprintf(n->cause, sizeof(n->cause), "%s", cause);
    uint64_t *ids = arena_calloc(a, 1, sizeof(*ids));
    ids[0] = ++next_id;
    return (struct batch_item){.event_id = event_id,
                               .changes = ch,
                               .notification_ids = ids,
                               .occurred_at_ms = 1795957323000LL + (int64_t)event_id};
}

/* An item with the given changes and no notification. */
static struct batch_item change(struct arena *a, uint64_t event_id, const struct event_changes *c)
{
    struct event_changes *ch = arena_calloc(a, 1, sizeof(*ch));
    *ch = *c;
    return (struct batch_item){.event_id = event_id, .changes = ch};
}

static void apply(struct fixture *f, const struct batch_item *items, size_t n,
                  struct batch_result *r)
{
    struct consumer_cursor cur = {"feed", 7};
    cr_assert_eq(notification_store_apply_batch(&f->s, items, n, &cur, 1000, r, &f->err), 0, "%s",
                 f->err.msg);
}

static struct notification_list list(struct fixture *f, uint64_t recipient, unsigned types,
                                     uint64_t account, struct notification_page page)
{
    struct notification_query q = {recipient, types, account, page};
    struct notification_list l;
    cr_assert_eq(notification_store_list(&f->s, &q, &f->a, &l, &f->err), 0, "%s", f->err.msg);
    return l;
}

static struct notification_page page(int limit)
{
    return (struct notification_page){0, 0, 0, limit};
}

/* ---- cases ---- */

CONTRACT(apply_list_get)
{
    struct batch_item it[3] = {
        create(&f->a, 11, NOTIFICATION_FOLLOW, ALICE, BOB, 0, "follow:1002:1001"),
        create(&f->a, 12, NOTIFICATION_FAVOURITE, ALICE, CAROL, 77, "favourite:1003:77"),
        create(&f->a, 13, NOTIFICATION_MENTION, BOB, CAROL, 78, "mention:78"),
    };
    struct batch_result r;
    apply(f, it, 3, &r);
    cr_assert_eq(r.created, 3);
    cr_assert_eq(r.duplicates, 0);
    int64_t pos;
    cr_assert_eq(notification_store_cursor_get(&f->s, "feed", &pos, &f->err), 0);
    cr_assert_eq(pos, 7, "the cursor is stored with the batch");
    cr_assert_eq(notification_store_cursor_get(&f->s, "kafka:x:0", &pos, &f->err), 0);
    cr_assert_eq(pos, 0);

    struct notification_list l = list(f, ALICE, NOTIFICATION_TYPES_ALL, 0, page(40));
    cr_assert_eq(l.n, 2);
    cr_assert_eq(l.items[0].id, it[1].notification_ids[0], "newest first");
    cr_assert_eq(l.items[0].type, NOTIFICATION_FAVOURITE);
    cr_assert_eq(l.items[0].account_id, CAROL);
    cr_assert_str_eq(l.items[0].account_json, "{\"id\":\"1003\",\"note\":\"snapshot\"}");
    cr_assert_eq(l.items[0].status_id, 77);
    cr_assert_str_eq(l.items[0].status_json, "{\"id\":\"77\"}");
    cr_assert_eq(l.items[0].event_id, 12);
    cr_assert_str_eq(l.items[0].cause, "favourite:1003:77");
    cr_assert_eq(l.items[0].created_at_ms, 1795957323012LL);
    cr_assert_null(l.items[1].status_json, "a follow has no status");
    cr_assert_eq(l.items[1].status_id, 0);

    struct notification n;
    cr_assert_eq(notification_store_get(&f->s, BOB, it[2].notification_ids[0], &f->a, &n, &f->err),
                 0);
    cr_assert_eq(n.type, NOTIFICATION_MENTION);
    cr_assert_eq(
        notification_store_get(&f->s, ALICE, it[2].notification_ids[0], &f->a, &n, &f->err),
        ERR_NOT_FOUND, "someone else's notification is not found");
    cr_assert_eq(notification_store_get(&f->s, ALICE, 999999, &f->a, &n, &f->err), ERR_NOT_FOUND);
}

CONTRACT(replay_makes_no_duplicates)
{
    struct batch_item it = create(&f->a, 21, NOTIFICATION_FOLLOW, ALICE, BOB, 0, "follow:x");
    struct batch_result r;
    apply(f, &it, 1, &r);
    cr_assert_eq(r.created, 1);
    /* The same event again, even with a fresh notification id: skipped by its event id. */
    struct batch_item again = create(&f->a, 21, NOTIFICATION_FOLLOW, ALICE, BOB, 0, "follow:x");
    bool dup = false;
    again.duplicate = &dup;
    apply(f, &again, 1, &r);
    cr_assert_eq(r.created, 0);
    cr_assert_eq(r.duplicates, 1);
    cr_assert(dup, "the item is flagged as a duplicate");
    /* Twice in one batch. */
    struct batch_item twice[2] = {
        create(&f->a, 22, NOTIFICATION_FOLLOW, BOB, ALICE, 0, "follow:y"),
        create(&f->a, 22, NOTIFICATION_FOLLOW, BOB, ALICE, 0, "follow:y"),
    };
    bool dups[2] = {true, false};
    twice[0].duplicate = &dups[0];
    twice[1].duplicate = &dups[1];
    apply(f, twice, 2, &r);
    cr_assert_eq(r.created, 1);
    cr_assert_eq(r.duplicates, 1);
    cr_assert(!dups[0] && dups[1], "the first is applied, the second a duplicate");
    cr_assert_eq(list(f, ALICE, NOTIFICATION_TYPES_ALL, 0, page(40)).n, 1);
    cr_assert_eq(list(f, BOB, NOTIFICATION_TYPES_ALL, 0, page(40)).n, 1);
}

/* Event ids applied before a time are forgotten, a limited number per call; an event delivered
 * again after that is applied again but makes no second notification; newer ones stay. */
CONTRACT(pruned_processed_ids_are_applied_again)
{
    struct consumer_cursor cur = {"feed", 9};
    struct batch_result r;
    struct batch_item old[3] = {
        create(&f->a, 31, NOTIFICATION_FOLLOW, ALICE, BOB, 0, "follow:31"),
        create(&f->a, 32, NOTIFICATION_FOLLOW, BOB, ALICE, 0, "follow:32"),
        create(&f->a, 33, NOTIFICATION_FOLLOW, CAROL, ALICE, 0, "follow:33"),
    };
    struct batch_item recent = create(&f->a, 34, NOTIFICATION_FOLLOW, ALICE, CAROL, 0, "f:34");
    cr_assert_eq(notification_store_apply_batch(&f->s, old, 3, &cur, 1000, &r, &f->err), 0);
    cr_assert_eq(notification_store_apply_batch(&f->s, &recent, 1, &cur, 5000, &r, &f->err), 0);
    int64_t deleted = -1;
    cr_assert_eq(notification_store_prune_processed(&f->s, 2000, 2, &deleted, &f->err), 0, "%s",
                 f->err.msg);
    cr_assert_eq(deleted, 2, "at most limit per call");
    cr_assert_eq(notification_store_prune_processed(&f->s, 2000, 10, &deleted, &f->err), 0);
    cr_assert_eq(deleted, 1);
    cr_assert_eq(notification_store_prune_processed(&f->s, 2000, 10, &deleted, &f->err), 0);
    cr_assert_eq(deleted, 0, "nothing older is left");
    bool dup = true, dup_recent = false;
    struct batch_item again = create(&f->a, 31, NOTIFICATION_FOLLOW, ALICE, BOB, 0, "follow:31");
    struct batch_item again_recent =
        create(&f->a, 34, NOTIFICATION_FOLLOW, ALICE, CAROL, 0, "f:34");
    again.duplicate = &dup;
    again_recent.duplicate = &dup_recent;
    cr_assert_eq(notification_store_apply_batch(&f->s, &again, 1, &cur, 6000, &r, &f->err), 0);
    cr_assert_eq(notification_store_apply_batch(&f->s, &again_recent, 1, &cur, 6000, &r, &f->err),
                 0);
    cr_assert(!dup, "a forgotten event id is applied again");
    cr_assert(dup_recent, "a newer one is still known");
    cr_assert_eq(list(f, ALICE, NOTIFICATION_TYPES_ALL, 0, page(40)).n, 2,
                 "no second notification for the same event, recipient and type");
    /* Applied again, its id is known again. */
    cr_assert_eq(notification_store_prune_processed(&f->s, 2000, 10, &deleted, &f->err), 0);
    cr_assert_eq(deleted, 0);
}

CONTRACT(one_notification_per_event_recipient_and_type)
{
    struct batch_item it = create(&f->a, 31, NOTIFICATION_MENTION, ALICE, BOB, 5, "mention:5");
    struct event_changes *ch = (struct event_changes *)it.changes;
    struct notification_new *two = arena_calloc(&f->a, 2, sizeof(*two));
    two[0] = two[1] = ch->creates[0];
    ch->creates = two;
    ch->ncreates = 2;
    uint64_t *ids = arena_calloc(&f->a, 2, sizeof(*ids));
    ids[0] = ++next_id;
    ids[1] = ++next_id;
    it.notification_ids = ids;
    struct batch_result r;
    apply(f, &it, 1, &r);
    cr_assert_eq(r.created, 1);
    cr_assert_eq(list(f, ALICE, NOTIFICATION_TYPES_ALL, 0, page(40)).n, 1);
}

CONTRACT(removal_by_cause_and_by_status)
{
    struct batch_item it[4] = {
        create(&f->a, 41, NOTIFICATION_FAVOURITE, ALICE, BOB, 9, "favourite:1002:9"),
        create(&f->a, 42, NOTIFICATION_FAVOURITE, ALICE, CAROL, 9, "favourite:1003:9"),
        create(&f->a, 43, NOTIFICATION_MENTION, CAROL, ALICE, 9, "mention:9"),
        create(&f->a, 44, NOTIFICATION_FOLLOW, ALICE, BOB, 0, "follow:1002:1001"),
    };
    struct batch_result r;
    apply(f, it, 4, &r);
    const char *causes[] = {"favourite:1002:9"};
    struct event_changes unfav = {.remove_causes = causes, .nremove_causes = 1};
    struct batch_item rm = change(&f->a, 45, &unfav);
    apply(f, &rm, 1, &r);
    cr_assert_eq(r.removed, 1);
    cr_assert_eq(list(f, ALICE, NOTIFICATION_TYPES_ALL, 0, page(40)).n, 2);
    struct event_changes del = {.remove_status_id = 9};
    rm = change(&f->a, 46, &del);
    apply(f, &rm, 1, &r);
    cr_assert_eq(r.removed, 2, "the favourite left and the mention");
    struct notification_list l = list(f, ALICE, NOTIFICATION_TYPES_ALL, 0, page(40));
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.items[0].type, NOTIFICATION_FOLLOW);
    cr_assert_eq(list(f, CAROL, NOTIFICATION_TYPES_ALL, 0, page(40)).n, 0);
}

CONTRACT(filters_and_paging)
{
    struct batch_item it[6];
    for (int i = 0; i < 6; i++)
        it[i] =
            create(&f->a, (uint64_t)(51 + i), i % 2 ? NOTIFICATION_FAVOURITE : NOTIFICATION_FOLLOW,
                   ALICE, i < 3 ? BOB : CAROL, i % 2 ? (uint64_t)(100 + i) : 0, "c");
    struct batch_result r;
    apply(f, it, 6, &r);
    uint64_t id[6];
    for (int i = 0; i < 6; i++)
        id[i] = it[i].notification_ids[0];

    struct notification_list l = list(f, ALICE, NOTIFICATION_FAVOURITE, 0, page(40));
    cr_assert_eq(l.n, 3);
    cr_assert_eq(l.items[0].id, id[5]);
    cr_assert_eq(l.items[2].id, id[1]);
    cr_assert_eq(list(f, ALICE, 0, 0, page(40)).n, 0, "an empty mask matches nothing");
    l = list(f, ALICE, NOTIFICATION_TYPES_ALL, CAROL, page(40));
    cr_assert_eq(l.n, 3);
    cr_assert_eq(l.items[2].id, id[3]);
    l = list(f, ALICE, NOTIFICATION_FOLLOW, BOB, page(40));
    cr_assert_eq(l.n, 2);

    l = list(f, ALICE, NOTIFICATION_TYPES_ALL, 0, page(2));
    cr_assert_eq(l.n, 2);
    cr_assert_eq(l.items[0].id, id[5]);
    cr_assert_eq(l.items[1].id, id[4]);
    l = list(f, ALICE, NOTIFICATION_TYPES_ALL, 0, (struct notification_page){id[4], 0, 0, 2});
    cr_assert_eq(l.n, 2, "max_id: older than it");
    cr_assert_eq(l.items[0].id, id[3]);
    cr_assert_eq(l.items[1].id, id[2]);
    l = list(f, ALICE, NOTIFICATION_TYPES_ALL, 0, (struct notification_page){0, id[1], 0, 2});
    cr_assert_eq(l.n, 2, "since_id: the newest page above it");
    cr_assert_eq(l.items[0].id, id[5]);
    l = list(f, ALICE, NOTIFICATION_TYPES_ALL, 0, (struct notification_page){0, 0, id[1], 2});
    cr_assert_eq(l.n, 2, "min_id: the page right after it, newest first");
    cr_assert_eq(l.items[0].id, id[3]);
    cr_assert_eq(l.items[1].id, id[2]);
    l = list(f, ALICE, NOTIFICATION_TYPES_ALL, 0, (struct notification_page){id[4], 0, id[1], 5});
    cr_assert_eq(l.n, 2, "min_id and max_id together");

    struct notification_query q = {ALICE, NOTIFICATION_TYPES_ALL, 0, {0, id[2], 0, 100}};
    int64_t c;
    cr_assert_eq(notification_store_count(&f->s, &q, &c, &f->err), 0);
    cr_assert_eq(c, 3);
    q.page.limit = 2;
    cr_assert_eq(notification_store_count(&f->s, &q, &c, &f->err), 0);
    cr_assert_eq(c, 2, "capped at the limit");
    q.types = NOTIFICATION_FOLLOW;
    q.page.limit = 100;
    cr_assert_eq(notification_store_count(&f->s, &q, &c, &f->err), 0);
    cr_assert_eq(c, 1);
}

CONTRACT(dismiss_and_clear)
{
    struct batch_item it[3] = {
        create(&f->a, 61, NOTIFICATION_FOLLOW, ALICE, BOB, 0, "a"),
        create(&f->a, 62, NOTIFICATION_FOLLOW, ALICE, CAROL, 0, "b"),
        create(&f->a, 63, NOTIFICATION_FOLLOW, BOB, CAROL, 0, "c"),
    };
    struct batch_result r;
    apply(f, it, 3, &r);
    uint64_t a0 = it[0].notification_ids[0], b0 = it[2].notification_ids[0];
    cr_assert_eq(notification_store_dismiss(&f->s, ALICE, b0, &f->err), ERR_NOT_FOUND,
                 "not Alice's");
    cr_assert_eq(notification_store_dismiss(&f->s, ALICE, a0, &f->err), 0);
    cr_assert_eq(notification_store_dismiss(&f->s, ALICE, a0, &f->err), ERR_NOT_FOUND);
    cr_assert_eq(list(f, ALICE, NOTIFICATION_TYPES_ALL, 0, page(40)).n, 1);
    cr_assert_eq(notification_store_clear(&f->s, ALICE, &f->err), 0);
    cr_assert_eq(list(f, ALICE, NOTIFICATION_TYPES_ALL, 0, page(40)).n, 0);
    cr_assert_eq(list(f, BOB, NOTIFICATION_TYPES_ALL, 0, page(40)).n, 1, "Bob's stay");
}

CONTRACT(markers)
{
    struct marker m;
    cr_assert_eq(notification_store_marker_get(&f->s, ALICE, MARKER_NOTIFICATIONS, &m, &f->err),
                 ERR_NOT_FOUND);
    cr_assert_eq(
        notification_store_marker_set(&f->s, ALICE, MARKER_NOTIFICATIONS, 42, 5000, &m, &f->err), 0,
        "%s", f->err.msg);
    cr_assert_eq(m.last_read_id, 42);
    cr_assert_eq(m.version, 1);
    cr_assert_eq(m.updated_at_ms, 5000);
    cr_assert_eq(
        notification_store_marker_set(&f->s, ALICE, MARKER_NOTIFICATIONS, 40, 6000, &m, &f->err),
        0);
    cr_assert_eq(m.version, 2);
    cr_assert_eq(m.last_read_id, 40);
    cr_assert_eq(notification_store_marker_set(&f->s, ALICE, MARKER_HOME, 7, 6000, &m, &f->err), 0);
    cr_assert_eq(m.version, 1, "each timeline has its own");
    cr_assert_eq(notification_store_marker_get(&f->s, ALICE, MARKER_NOTIFICATIONS, &m, &f->err), 0);
    cr_assert_eq(m.last_read_id, 40);
    cr_assert_eq(m.version, 2);
    cr_assert_eq(m.updated_at_ms, 6000);
    cr_assert_eq(m.timeline, MARKER_NOTIFICATIONS);
    cr_assert_eq(notification_store_marker_get(&f->s, BOB, MARKER_NOTIFICATIONS, &m, &f->err),
                 ERR_NOT_FOUND);
}

CONTRACT(read_models)
{
    struct batch_item it = create(&f->a, 71, NOTIFICATION_FOLLOW, ALICE, BOB, 0, "f");
    struct batch_result r;
    apply(f, &it, 1, &r);
    const char *json;
    cr_assert_eq(notification_store_account_get(&f->s, BOB, &f->a, &json, &f->err), ERR_NOT_FOUND);
    struct event_changes acct = {.account_id = BOB, .account_json = "{\"id\":\"1002\",\"v\":1}"};
    struct batch_item items[5] = {change(&f->a, 72, &acct)};
    acct.account_json = "{\"id\":\"1002\",\"v\":2}";
    items[1] = change(&f->a, 73, &acct);
    struct event_changes fol = {.follower_id = BOB, .followee_id = ALICE, .follow_add = true};
    items[2] = change(&f->a, 74, &fol);
    fol.follower_id = CAROL;
    items[3] = change(&f->a, 75, &fol);
    struct event_changes rev = {.revoked_jti = 4242};
    items[4] = change(&f->a, 76, &rev);
    apply(f, items, 5, &r);
    cr_assert_eq(notification_store_account_get(&f->s, BOB, &f->a, &json, &f->err), 0);
    cr_assert_str_eq(json, "{\"id\":\"1002\",\"v\":2}", "the newest profile wins");
    struct notification_list l = list(f, ALICE, NOTIFICATION_TYPES_ALL, 0, page(40));
    cr_assert_str_eq(l.items[0].account_json, "{\"id\":\"1002\",\"v\":2}",
                     "notifications show the actor's newest profile");

    uint64_t *ids;
    size_t n;
    cr_assert_eq(notification_store_followers(&f->s, ALICE, &f->a, &ids, &n, &f->err), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(ids[0], BOB);
    cr_assert_eq(ids[1], CAROL);
    struct event_changes unfol = {.follower_id = BOB, .followee_id = ALICE, .follow_remove = true};
    struct batch_item u = change(&f->a, 77, &unfol);
    apply(f, &u, 1, &r);
    cr_assert_eq(notification_store_followers(&f->s, ALICE, &f->a, &ids, &n, &f->err), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(ids[0], CAROL);
    cr_assert_eq(notification_store_followers(&f->s, BOB, &f->a, &ids, &n, &f->err), 0);
    cr_assert_eq(n, 0);

    bool revoked;
    cr_assert_eq(notification_store_token_revoked(&f->s, 4242, ALICE, &revoked, &f->err), 0);
    cr_assert(revoked);
    cr_assert_eq(notification_store_token_revoked(&f->s, 4243, ALICE, &revoked, &f->err), 0);
    cr_assert_not(revoked);

    /* account.tokens_revoked: every token of the account below the cut-off; a lower cut-off
     * later keeps the higher one */
    struct event_changes cut = {.cutoff_account_id = BOB, .cutoff_below_jti = 9000};
    struct batch_item c1 = change(&f->a, 78, &cut);
    apply(f, &c1, 1, &r);
    struct event_changes lower = {.cutoff_account_id = BOB, .cutoff_below_jti = 10};
    struct batch_item c2 = change(&f->a, 79, &lower);
    apply(f, &c2, 1, &r);
    cr_assert_eq(notification_store_token_revoked(&f->s, 8999, BOB, &revoked, &f->err), 0);
    cr_assert(revoked);
    cr_assert_eq(notification_store_token_revoked(&f->s, 9000, BOB, &revoked, &f->err), 0);
    cr_assert_not(revoked);
    cr_assert_eq(notification_store_token_revoked(&f->s, 8999, CAROL, &revoked, &f->err), 0);
    cr_assert_not(revoked, "other accounts keep theirs");
}

CONTRACT(dead_letters_and_atomic_batches)
{
    struct batch_item items[3] = {
        create(&f->a, 81, NOTIFICATION_FOLLOW, ALICE, BOB, 0, "f"),
        {.event_id = 0,
         .dead_id = 9001,
         .dead_text = "not json",
         .dead_len = 8,
         .dead_reason = "event: not a JSON object"},
        {.event_id = 82,
         .dead_id = 9002,
         .dead_text = "{\"x\":1}",
         .dead_len = 7,
         .dead_reason = "unknown event type x.y version 1"},
    };
    struct batch_result r;
    apply(f, items, 3, &r);
    cr_assert_eq(r.dead, 2);
    cr_assert_eq(r.created, 1);
    struct dead_letter *d;
    size_t n;
    cr_assert_eq(notification_store_dead_letters(&f->s, 10, &f->a, &d, &n, &f->err), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(d[0].id, 9002, "newest first");
    cr_assert_eq(d[0].event_id, 82);
    cr_assert_str_eq(d[0].text, "{\"x\":1}");
    cr_assert_str_eq(d[0].reason, "unknown event type x.y version 1");
    cr_assert_eq(d[0].created_at_ms, 1000);
    cr_assert_str_eq(d[1].text, "not json");

    /* A batch that fails (a dead letter id taken) stores nothing: neither its notifications
     * nor its cursor. */
    struct batch_item bad[2] = {
        create(&f->a, 83, NOTIFICATION_FOLLOW, CAROL, BOB, 0, "g"),
        {.dead_id = 9001, .dead_text = "x", .dead_len = 1, .dead_reason = "again"},
    };
    struct consumer_cursor cur = {"feed", 99};
    cr_assert_neq(notification_store_apply_batch(&f->s, bad, 2, &cur, 2000, &r, &f->err), 0);
    int64_t pos;
    cr_assert_eq(notification_store_cursor_get(&f->s, "feed", &pos, &f->err), 0);
    cr_assert_eq(pos, 7);
    cr_assert_eq(list(f, CAROL, NOTIFICATION_TYPES_ALL, 0, page(40)).n, 0);
    /* Event 83 was not marked processed either: it applies later. */
    apply(f, bad, 1, &r);
    cr_assert_eq(r.created, 1);
    cr_assert_eq(notification_store_ping(&f->s, &f->err), 0);
}
