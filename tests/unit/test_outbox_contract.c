/* test_outbox_contract.c - contract tests of the transactional outbox: the outbox_store port
 * and the events the mutating ops of the other store ports write with their change. Every
 * CONTRACT case runs on mem (one mem_db), sqlite (a fresh file) and pgsql (a fresh schema of
 * TEST_PG_URL). The events are made by a test builder; what the use cases put in them is
 * tested in test_statuses.c and tests/http/test_events_feed.py. */
#include "lib/base/arena.h"
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/mem/stores_mem.h"
#include "services/threadly/adapters/pgsql/stores_pgsql.h"
#include "services/threadly/adapters/sqlite/stores_sqlite.h"
#include "tests/unit/contract_fixture.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static void open_stores(struct fixture *f, enum adapter kind)
{
    if (kind == ADAPTER_MEM) {
        f->mem = mem_db_new();
        f->accounts = account_store_mem(f->mem);
        f->tokens = token_store_mem(f->mem);
        f->statuses = status_store_mem(f->mem);
        f->social = social_store_mem(f->mem);
        f->outbox = outbox_store_mem(f->mem);
    } else if (kind == ADAPTER_PGSQL) {
        f->accounts = account_store_pgsql(f->pg);
        f->tokens = token_store_pgsql(f->pg);
        f->statuses = status_store_pgsql(f->pg);
        f->social = social_store_pgsql(f->pg);
        f->outbox = outbox_store_pgsql(f->pg);
    } else {
        f->accounts = account_store_sqlite(f->db);
        f->tokens = token_store_sqlite(f->db);
        f->statuses = status_store_sqlite(f->db);
        f->social = social_store_sqlite(f->db);
        f->outbox = outbox_store_sqlite(f->db);
    }
}

static void close_stores(struct fixture *f)
{
    account_store_close(&f->accounts);
    token_store_close(&f->tokens);
    status_store_close(&f->statuses);
    social_store_close(&f->social);
    outbox_store_close(&f->outbox);
    mem_db_free(f->mem);
}

const struct contract_suite contract_suite = {"threadly-outbox", open_stores, close_stores};

/* ---- a test builder: one event of `type` (two with type2) keyed by `key` ---- */

#define DATA "{\"text\":\"Zoë \\\"quoted\\\" 🧵 '; DROP TABLE outbox; --\",\"n\":[1,2]}"

struct test_emit {
    struct outbox_emit emit;
    const char *type, *type2;
    uint64_t key;
    char key_text[24];
    int calls;
    struct outbox_change seen;
};

static uint64_t next_event_id = 1000;
static pthread_mutex_t next_event_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t test_build(void *arg, const struct outbox_change *ch, struct event *out)
{
    struct test_emit *t = arg;
    t->calls++;
    t->seen = *ch;
    snprintf(t->key_text, sizeof(t->key_text), "%" PRIu64, t->key);
    size_t n = t->type2 ? 2 : 1;
    pthread_mutex_lock(&next_event_mu);
    uint64_t id = next_event_id;
    next_event_id += n;
    pthread_mutex_unlock(&next_event_mu);
    for (size_t i = 0; i < n; i++)
        out[i] = (struct event){.id = id + i,
                                .type = i ? t->type2 : t->type,
                                .version = 1,
                                .occurred_at = 1795957323004 + (int64_t)i,
                                .key = t->key_text,
                                .data = DATA};
    return n;
}

static struct test_emit *emit(struct fixture *f, const char *type, uint64_t key)
{
    struct test_emit *t = arena_calloc(&f->a, 1, sizeof(*t));
    t->emit = (struct outbox_emit){test_build, t};
    t->type = type;
    t->key = key;
    return t;
}

static uint64_t head(struct fixture *f)
{
    uint64_t h = 99;
    cr_assert_eq(outbox_store_head(&f->outbox, &h, &f->err), 0, "%s", f->err.msg);
    return h;
}

static size_t list(struct fixture *f, uint64_t after, int limit, struct outbox_row **rows)
{
    size_t n = 0;
    cr_assert_eq(outbox_store_list(&f->outbox, after, limit, &f->a, rows, &n, &f->err), 0, "%s",
                 f->err.msg);
    return n;
}

/* Asserts the rows after `after` are exactly types[0..n), keyed keys[i], with consecutive
 * seqs from after + 1. */
static void assert_types(struct fixture *f, uint64_t after, const char *const *types,
                         const uint64_t *keys, size_t n)
{
    struct outbox_row *rows;
    size_t got = list(f, after, 1000, &rows);
    cr_assert_eq(got, n, "%zu rows, want %zu", got, n);
    for (size_t i = 0; i < n; i++) {
        char key[24];
        snprintf(key, sizeof(key), "%" PRIu64, keys[i]);
        cr_assert_eq(rows[i].seq, after + 1 + i, "row %zu: seq %" PRIu64, i, rows[i].seq);
        cr_assert_str_eq(rows[i].event.type, types[i], "row %zu", i);
        cr_assert_str_eq(rows[i].event.key, key, "row %zu", i);
    }
}

static void add_account(struct fixture *f, uint64_t id, const char *username, struct test_emit *t)
{
    char email[64];
    snprintf(email, sizeof(email), "%s@x.example", username);
    struct account acct = {
        .id = id, .username = username, .email = email, .password_hash = "h", .created_at_ms = 1};
    cr_assert_eq(account_store_insert(&f->accounts, &acct, t ? &t->emit : NULL, &f->err), 0, "%s",
                 f->err.msg);
}

static struct status plain_status(uint64_t id, uint64_t author)
{
    return (struct status){.id = id,
                           .account_id = author,
                           .text = "t",
                           .content = "<p>t</p>",
                           .spoiler_text = "",
                           .language = "",
                           .created_at_ms = (int64_t)id};
}

#define ALICE 1
#define BOB 2
#define CAROL 3

/* ---- cases ---- */

CONTRACT(outbox, empty_outbox)
{
    struct outbox_row *rows;
    cr_assert_eq(head(f), 0);
    cr_assert_eq(list(f, 0, 10, &rows), 0);
}

CONTRACT(outbox, every_change_writes_its_events_in_seq_order)
{
    add_account(f, ALICE, "alice", emit(f, "account.created", ALICE));
    add_account(f, BOB, "bob", emit(f, "account.created", BOB));
    struct account change = {.id = ALICE, .display_name = "A", .note = "", .discoverable = true};
    cr_assert_eq(account_store_update_profile(&f->accounts, &change,
                                              &emit(f, "account.updated", ALICE)->emit, &f->err),
                 0, "%s", f->err.msg);
    struct status s = plain_status(10, ALICE);
    cr_assert_eq(
        status_store_insert(&f->statuses, &s, &emit(f, "status.created", 10)->emit, &f->err), 0,
        "%s", f->err.msg);
    bool done = false;
    cr_assert_eq(social_store_favourite(&f->social, 50, BOB, 10, 7, &done,
                                        &emit(f, "favourite.created", 10)->emit, &f->err),
                 0, "%s", f->err.msg);
    cr_assert(done);
    struct test_emit *fol = emit(f, "follow.created", ALICE);
    cr_assert_eq(
        social_store_follow(&f->social, 60, BOB, ALICE, false, 8, &done, &fol->emit, &f->err), 0,
        "%s", f->err.msg);
    cr_assert_eq(fol->seen.row_id, 60);
    struct test_emit *unf = emit(f, "follow.deleted", ALICE);
    cr_assert_eq(social_store_unfollow(&f->social, BOB, ALICE, &done, &unf->emit, &f->err), 0, "%s",
                 f->err.msg);
    cr_assert(done);
    cr_assert_eq(unf->calls, 1);
    cr_assert_eq(unf->seen.row_id, 60, "the removed follow's id reaches the builder");
    cr_assert_not(unf->seen.was_request);
    struct test_emit *unfav = emit(f, "favourite.deleted", 10);
    cr_assert_eq(social_store_unfavourite(&f->social, BOB, 10, &done, &unfav->emit, &f->err), 0,
                 "%s", f->err.msg);
    cr_assert_eq(unfav->seen.row_id, 50, "the removed favourite's id reaches the builder");
    cr_assert_eq(
        token_store_revoke(&f->tokens, 77, BOB, 9, &emit(f, "token.revoked", BOB)->emit, &f->err),
        0, "%s", f->err.msg);
    cr_assert_eq(
        status_store_remove(&f->statuses, 10, &emit(f, "status.deleted", 10)->emit, &f->err), 0,
        "%s", f->err.msg);

    static const char *const types[] = {"account.created", "account.created",   "account.updated",
                                        "status.created",  "favourite.created", "follow.created",
                                        "follow.deleted",  "favourite.deleted", "token.revoked",
                                        "status.deleted"};
    static const uint64_t keys[] = {ALICE, BOB, ALICE, 10, 10, ALICE, ALICE, 10, BOB, 10};
    assert_types(f, 0, types, keys, 10);
    cr_assert_eq(head(f), 10);

    /* Every field comes back as written; pages start after `after`. */
    struct outbox_row *rows;
    cr_assert_eq(list(f, 3, 2, &rows), 2);
    cr_assert_eq(rows[0].seq, 4);
    cr_assert_eq(rows[1].seq, 5);
    cr_assert_eq(rows[0].event.id, 1003);
    cr_assert_eq(rows[0].event.version, 1);
    cr_assert_eq(rows[0].event.occurred_at, 1795957323004);
    cr_assert_str_eq(rows[0].event.data, DATA);
    cr_assert_eq(rows[0].sent_at_ms, 0);
    cr_assert_eq(list(f, 10, 5, &rows), 0);
    cr_assert_eq(list(f, 1000, 5, &rows), 0);
}

CONTRACT(outbox, a_change_that_fails_writes_no_event)
{
    add_account(f, ALICE, "alice", NULL);
    add_account(f, BOB, "bob", NULL);
    struct status s = plain_status(10, ALICE);
    cr_assert_eq(status_store_insert(&f->statuses, &s, NULL, &f->err), 0);

    struct test_emit *t = emit(f, "account.created", 9);
    struct account dup = {.id = 9, .username = "ALICE", .email = "z@x", .password_hash = "h"};
    cr_assert_eq(account_store_insert(&f->accounts, &dup, &t->emit, &f->err), ERR_CONFLICT);
    struct account ghost = {.id = 99, .display_name = "", .note = ""};
    cr_assert_eq(account_store_update_profile(&f->accounts, &ghost, &t->emit, &f->err),
                 ERR_NOT_FOUND);
    struct status orphan = plain_status(11, ALICE);
    orphan.in_reply_to_id = 999;
    cr_assert_eq(status_store_insert(&f->statuses, &orphan, &t->emit, &f->err), ERR_NOT_FOUND);
    struct status again = plain_status(10, ALICE);
    cr_assert_eq(status_store_insert(&f->statuses, &again, &t->emit, &f->err), ERR_CONFLICT);
    cr_assert_eq(status_store_remove(&f->statuses, 999, &t->emit, &f->err), ERR_NOT_FOUND);
    bool done = true;
    cr_assert_eq(social_store_favourite(&f->social, 50, BOB, 999, 1, &done, &t->emit, &f->err),
                 ERR_NOT_FOUND);
    cr_assert_eq(social_store_accept(&f->social, BOB, ALICE, &t->emit, &f->err), ERR_NOT_FOUND);
    cr_assert_eq(social_store_follow(&f->social, 60, BOB, ALICE, false, 1, &done, NULL, &f->err),
                 0);
    /* A follow row id that is taken (a different pair). */
    cr_assert_eq(
        social_store_follow(&f->social, 60, ALICE, BOB, false, 1, &done, &t->emit, &f->err),
        ERR_CONFLICT);
    cr_assert_eq(t->calls, 0, "the builder ran for a change that failed");
    cr_assert_eq(head(f), 0);
    struct outbox_row *rows;
    cr_assert_eq(list(f, 0, 10, &rows), 0);
}

/* The next events built get ids from `id` on (to make one collide with an earlier one). */
static void reuse_event_ids(uint64_t id)
{
    pthread_mutex_lock(&next_event_mu);
    next_event_id = id;
    pthread_mutex_unlock(&next_event_mu);
}

/* An event the outbox refuses (its id is taken) undoes the whole change, whether it is the
 * last append of the transaction (pgsql sends it with the COMMIT, pgsql_db_commit_with) or
 * not; and the connection serves the next change. The mem outbox refuses nothing, so this
 * runs on the database adapters only. */
CONTRACT(outbox, an_event_the_outbox_refuses_undoes_the_change)
{
    if (f->mem)
        return;
    add_account(f, ALICE, "alice", NULL);
    struct test_emit *ok = emit(f, "status.created", 10);
    struct status s10 = plain_status(10, ALICE);
    uint64_t taken = next_event_id;
    cr_assert_eq(status_store_insert(&f->statuses, &s10, &ok->emit, &f->err), 0, "%s", f->err.msg);
    struct test_emit *last = emit(f, "status.created", 11), *first = emit(f, "status.created", 12);
    last->type2 = first->type2 = "status.updated";
    struct status s11 = plain_status(11, ALICE), s12 = plain_status(12, ALICE);
    reuse_event_ids(taken - 1); /* the second (last) of two events collides */
    cr_assert_eq(status_store_insert(&f->statuses, &s11, &last->emit, &f->err), ERR_CONFLICT);
    reuse_event_ids(taken); /* the first of two collides */
    cr_assert_eq(status_store_insert(&f->statuses, &s12, &first->emit, &f->err), ERR_CONFLICT);
    reuse_event_ids(taken + 100);
    struct status *got;
    cr_assert_eq(status_store_get(&f->statuses, 11, &f->a, &got, &f->err), ERR_NOT_FOUND);
    cr_assert_eq(status_store_get(&f->statuses, 12, &f->a, &got, &f->err), ERR_NOT_FOUND);
    struct account *alice;
    cr_assert_eq(account_store_get(&f->accounts, ALICE, &f->a, &alice, &f->err), 0);
    cr_assert_eq(alice->statuses_count, 1, "the author's counter was rolled back too");
    assert_types(f, 0, (const char *const[]){"status.created"}, (const uint64_t[]){10}, 1);
    struct status s13 = plain_status(13, ALICE);
    cr_assert_eq(
        status_store_insert(&f->statuses, &s13, &emit(f, "status.created", 13)->emit, &f->err), 0,
        "%s", f->err.msg);
    assert_types(f, 0, (const char *const[]){"status.created", "status.created"},
                 (const uint64_t[]){10, 13}, 2);
}

CONTRACT(outbox, idempotent_repeats_write_no_event)
{
    add_account(f, ALICE, "alice", NULL);
    add_account(f, BOB, "bob", NULL);
    struct status s = plain_status(10, ALICE);
    cr_assert_eq(status_store_insert(&f->statuses, &s, NULL, &f->err), 0);
    bool done;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(social_store_follow(&f->social, 60 + (uint64_t)i, BOB, ALICE, false, 1, &done,
                                         &emit(f, "follow.created", ALICE)->emit, &f->err),
                     0, "%s", f->err.msg);
        cr_assert_eq(done, i == 0);
        cr_assert_eq(social_store_favourite(&f->social, 70 + (uint64_t)i, BOB, 10, 1, &done,
                                            &emit(f, "favourite.created", 10)->emit, &f->err),
                     0, "%s", f->err.msg);
        cr_assert_eq(token_store_revoke(&f->tokens, 5, BOB, 1, &emit(f, "token.revoked", BOB)->emit,
                                        &f->err),
                     0, "%s", f->err.msg);
    }
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(social_store_unfollow(&f->social, BOB, ALICE, &done,
                                           &emit(f, "follow.deleted", ALICE)->emit, &f->err),
                     0, "%s", f->err.msg);
        cr_assert_eq(social_store_unfavourite(&f->social, BOB, 10, &done,
                                              &emit(f, "favourite.deleted", 10)->emit, &f->err),
                     0, "%s", f->err.msg);
    }
    static const char *const types[] = {"follow.created", "favourite.created", "token.revoked",
                                        "follow.deleted", "favourite.deleted"};
    static const uint64_t keys[] = {ALICE, 10, BOB, ALICE, 10};
    assert_types(f, 0, types, keys, 5);
}

CONTRACT(outbox, accept_writes_both_events_in_order_and_reject_tells_a_request)
{
    add_account(f, ALICE, "alice", NULL);
    add_account(f, BOB, "bob", NULL);
    add_account(f, CAROL, "carol", NULL);
    bool done;
    cr_assert_eq(social_store_follow(&f->social, 60, BOB, ALICE, true, 1, &done,
                                     &emit(f, "follow_request.created", ALICE)->emit, &f->err),
                 0, "%s", f->err.msg);
    struct test_emit *acc = emit(f, "follow_request.deleted", ALICE);
    acc->type2 = "follow.created";
    cr_assert_eq(social_store_accept(&f->social, BOB, ALICE, &acc->emit, &f->err), 0, "%s",
                 f->err.msg);
    cr_assert_eq(acc->seen.row_id, 60, "the accepted request's id reaches the builder");
    cr_assert(acc->seen.was_request);
    /* A second accept fails and writes nothing. */
    cr_assert_eq(social_store_accept(&f->social, BOB, ALICE, &acc->emit, &f->err), ERR_NOT_FOUND);

    cr_assert_eq(social_store_follow(&f->social, 61, CAROL, ALICE, true, 1, &done,
                                     &emit(f, "follow_request.created", ALICE)->emit, &f->err),
                 0, "%s", f->err.msg);
    struct test_emit *rej = emit(f, "follow_request.deleted", ALICE);
    cr_assert_eq(social_store_unfollow(&f->social, CAROL, ALICE, &done, &rej->emit, &f->err), 0,
                 "%s", f->err.msg);
    cr_assert_eq(rej->seen.row_id, 61);
    cr_assert(rej->seen.was_request, "a removed request is told apart from a follow");

    static const char *const types[] = {"follow_request.created", "follow_request.deleted",
                                        "follow.created", "follow_request.created",
                                        "follow_request.deleted"};
    static const uint64_t keys[] = {ALICE, ALICE, ALICE, ALICE, ALICE};
    assert_types(f, 0, types, keys, 5);
    struct outbox_row *rows;
    cr_assert_eq(list(f, 1, 2, &rows), 2);
    cr_assert_eq(rows[0].event.occurred_at + 1, rows[1].event.occurred_at);
}

CONTRACT(outbox, mark_sent_marks_unsent_rows_up_to_seq)
{
    for (uint64_t i = 1; i <= 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "u%" PRIu64, i);
        add_account(f, i, name, emit(f, "account.created", i));
    }
    cr_assert_eq(outbox_store_mark_sent(&f->outbox, 2, 500, &f->err), 0, "%s", f->err.msg);
    cr_assert_eq(outbox_store_mark_sent(&f->outbox, 3, 600, &f->err), 0, "%s", f->err.msg);
    struct outbox_row *rows;
    cr_assert_eq(list(f, 0, 10, &rows), 3);
    cr_assert_eq(rows[0].sent_at_ms, 500);
    cr_assert_eq(rows[1].sent_at_ms, 500);
    cr_assert_eq(rows[2].sent_at_ms, 600, "rows already sent keep their time");
}

/* ---- concurrent writers: seqs stay dense and unique, in commit order ---- */

#define WRITERS 4
#define WRITES 25

struct writer {
    struct fixture *f;
    uint64_t author; /* one each, so the writers share no row lock */
    uint64_t first_id;
    int failed;
};

static void *write_events(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < WRITES; i++) {
        uint64_t id = w->first_id + (uint64_t)i;
        struct status s = plain_status(id, w->author);
        struct err err = {0};
        struct test_emit t = {.type = "status.created", .key = id};
        t.emit = (struct outbox_emit){test_build, &t};
        if (status_store_insert(&w->f->statuses, &s, &t.emit, &err) != 0)
            w->failed++;
    }
    return NULL;
}

CONTRACT(outbox, concurrent_writers_get_dense_unique_seqs)
{
    pthread_t th[WRITERS];
    struct writer w[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "w%d", i);
        add_account(f, 10 + (uint64_t)i, name, NULL);
        w[i] = (struct writer){f, 10 + (uint64_t)i, 100 + (uint64_t)i * WRITES, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, write_events, &w[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(w[i].failed, 0);
    }
    struct outbox_row *rows;
    size_t n = list(f, 0, 1000, &rows);
    cr_assert_eq(n, WRITERS * WRITES);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(rows[i].seq, i + 1);
        for (size_t j = 0; j < i; j++)
            cr_assert_neq(rows[j].event.id, rows[i].event.id, "event ids are unique");
    }
    cr_assert_eq(head(f), WRITERS * WRITES);
}

/* ---- a reader following a cursor while writers commit sees every event once ---- */

struct follower {
    struct fixture *f;
    volatile int *stop; /* set once every writer has joined */
    uint64_t seen[WRITERS * WRITES];
    size_t nseen;
    int errors, out_of_order;
};

/* Reads pages after its cursor, as the feed and the Kafka relay do, until told to stop and a
 * last page comes back empty. A seq committed behind a cursor already passed would be missed
 * here for ever; the check at the end counts the events. */
static void *follow_cursor(void *arg)
{
    struct follower *r = arg;
    struct arena a;
    arena_init(&a, 4096);
    uint64_t cursor = 0;
    for (;;) {
        int stopping = __atomic_load_n(r->stop, __ATOMIC_ACQUIRE);
        struct outbox_row *rows;
        size_t n = 0;
        struct err err = {0};
        arena_reset(&a);
        if (outbox_store_list(&r->f->outbox, cursor, 7, &a, &rows, &n, &err) != 0) {
            r->errors++;
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (rows[i].seq != cursor + 1)
                r->out_of_order++;
            cursor = rows[i].seq;
            if (r->nseen < WRITERS * WRITES)
                r->seen[r->nseen++] = rows[i].event.id;
        }
        if (n == 0 && stopping)
            break;
    }
    arena_release(&a);
    return NULL;
}

CONTRACT(outbox, cursor_reader_sees_every_event_once_during_concurrent_writes)
{
    pthread_t th[WRITERS], reader;
    struct writer w[WRITERS];
    volatile int stop = 0;
    struct follower *r = xcalloc(1, sizeof(*r));
    *r = (struct follower){.f = f, .stop = &stop};
    for (int i = 0; i < WRITERS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "c%d", i);
        add_account(f, 20 + (uint64_t)i, name, NULL);
    }
    cr_assert_eq(pthread_create(&reader, NULL, follow_cursor, r), 0);
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){f, 20 + (uint64_t)i, 500 + (uint64_t)i * WRITES, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, write_events, &w[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(w[i].failed, 0);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_join(reader, NULL);
    cr_assert_eq(r->errors, 0);
    cr_assert_eq(r->out_of_order, 0, "seqs read after a cursor are dense");
    cr_assert_eq(r->nseen, WRITERS * WRITES, "every committed event is read once");
    for (size_t i = 0; i < r->nseen; i++)
        for (size_t j = 0; j < i; j++)
            cr_assert_neq(r->seen[i], r->seen[j], "no event is read twice");
    cr_assert_eq(head(f), WRITERS * WRITES);
    free(r);
}

/* ---- pruning: the oldest rows go, seqs stay, the newest row always stays ---- */

#define T0 1795957323004 /* test_build's occurred_at */

static int64_t prune(struct fixture *f, int64_t before_ms, bool only_sent, int limit)
{
    int64_t deleted = -1;
    cr_assert_eq(outbox_store_prune(&f->outbox, before_ms, only_sent, limit, &deleted, &f->err), 0,
                 "%s", f->err.msg);
    return deleted;
}

static void add_accounts(struct fixture *f, uint64_t first, int n)
{
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof(name), "p%" PRIu64, first + (uint64_t)i);
        add_account(f, first + (uint64_t)i, name, emit(f, "account.created", first + (uint64_t)i));
    }
}

CONTRACT(outbox, prune_deletes_old_rows_keeps_seqs_and_the_newest)
{
    add_accounts(f, 1, 5);
    cr_assert_eq(prune(f, T0, false, 100), 0, "nothing occurred before T0");
    cr_assert_eq(prune(f, T0 + 1, false, 2), 2, "limit");
    struct outbox_row *rows;
    cr_assert_eq(list(f, 0, 10, &rows), 3);
    cr_assert_eq(rows[0].seq, 3, "the oldest went first; seqs are kept");
    cr_assert_eq(list(f, 3, 10, &rows), 2, "a cursor inside the pruned range still works");
    cr_assert_eq(rows[0].seq, 4);
    cr_assert_eq(prune(f, T0 + 1, false, 100), 2, "all but the newest");
    cr_assert_eq(list(f, 0, 10, &rows), 1);
    cr_assert_eq(rows[0].seq, 5);
    cr_assert_eq(prune(f, T0 + 1, false, 100), 0, "the newest row always stays");
    cr_assert_eq(head(f), 5);
    add_accounts(f, 6, 1);
    cr_assert_eq(head(f), 6, "seqs are never reused after a prune");
    cr_assert_eq(list(f, 5, 10, &rows), 1);
    cr_assert_eq(rows[0].seq, 6);
    cr_assert_str_eq(rows[0].event.type, "account.created");
}

CONTRACT(outbox, prune_only_sent_keeps_what_the_relay_has_not_sent)
{
    add_accounts(f, 1, 4);
    cr_assert_eq(outbox_store_mark_sent(&f->outbox, 2, 500, &f->err), 0, "%s", f->err.msg);
    cr_assert_eq(prune(f, T0 + 1, true, 100), 2, "the two sent rows");
    struct outbox_row *rows;
    cr_assert_eq(list(f, 0, 10, &rows), 2);
    cr_assert_eq(rows[0].seq, 3);
    cr_assert_eq(rows[0].sent_at_ms, 0);
    cr_assert_eq(outbox_store_mark_sent(&f->outbox, 4, 600, &f->err), 0, "%s", f->err.msg);
    cr_assert_eq(prune(f, T0 + 1, true, 100), 1, "sent now, but the newest stays");
    cr_assert_eq(head(f), 4);
}
