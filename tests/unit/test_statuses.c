/* test_statuses.c - the statuses and follows use cases against the mem stores with a fake
 * clock: validation, mentions, visibility, deletion rights, threads, idempotency, follow
 * requests. */
#include "services/threadly/adapters/http/api.h"
#include "services/threadly/adapters/mem/stores_mem.h"
#include "services/threadly/app/statuses.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int64_t now = 1795957323004LL;
static const struct clock fake_clock = {clock_fake_now_ms, &now};
static struct idgen ids;
static struct core c;
static struct instance_settings settings = {.base_url = "https://t.example", .domain = "t.example"};
static struct api api = {.core = &c, .settings = &settings};
static struct mem_db *db;
static struct arena a;

static uint64_t add_account(const char *name, bool locked)
{
    struct account acct = {0};
    char email[64];
    snprintf(email, sizeof(email), "%s@example.org", name);
    acct.id = idgen_next(&ids);
    acct.username = name;
    acct.email = email;
    acct.display_name = "";
    acct.note = "";
    acct.password_hash = "x";
    acct.locked = locked;
    acct.created_at_ms = now;
    cr_assert_eq(account_store_insert(&c.accounts, &acct, NULL, NULL), 0);
    return acct.id;
}

static void setup(void)
{
    memset(&c, 0, sizeof(c));
    idgen_init(&ids, 1, &fake_clock);
    db = mem_db_new();
    c.accounts = account_store_mem(db);
    c.statuses = status_store_mem(db);
    c.social = social_store_mem(db);
    c.clock = &fake_clock;
    c.ids = &ids;
    c.base_url = "https://t.example";
    c.domain = "t.example";
    c.max_characters = 500;
    c.encoder = event_encoder_http(&api);
    c.idempotency = ttlmap_new(16, 3600000);
    arena_init(&a, 0);
}

static void teardown(void)
{
    arena_release(&a);
    ttlmap_free(c.idempotency);
    mem_db_free(db);
}

TestSuite(statuses, .init = setup, .fini = teardown);

static struct status *post(uint64_t who, const char *text, const char *vis, uint64_t reply)
{
    struct post_request r = {text, vis, reply, NULL, false, NULL, NULL};
    struct validation v = {0};
    struct status *s;
    struct err err = {0};
    cr_assert_eq(statuses_post(&c, who, &r, &a, &s, &v, &err), 0, "%s", err.msg);
    return s;
}

Test(statuses, post_resolves_mentions_and_tags)
{
    uint64_t alice = add_account("alice", false), bob = add_account("bob", false);
    (void)alice;
    struct status *s = post(bob, "hi @alice @alice@t.example @ghost #One #one #two", NULL, 0);
    cr_assert_eq(s->nmentions, 1);
    cr_assert_eq(s->mentions[0], alice);
    cr_assert_eq(s->ntags, 2);
    cr_assert_str_eq(s->tags[0], "one");
    cr_assert(strstr(s->content, "https://t.example/@alice") != NULL);
    cr_assert_eq(s->visibility, VISIBILITY_PUBLIC);
}

Test(statuses, validation)
{
    uint64_t alice = add_account("alice", false);
    struct status *s;
    const char *texts[] = {"", "  \n ", NULL};
    for (int i = 0; i < 3; i++) {
        struct validation v = {0};
        struct post_request r = {texts[i], NULL, 0, NULL, false, NULL, NULL};
        cr_assert_eq(statuses_post(&c, alice, &r, &a, &s, &v, NULL), ERR_INVALID);
        cr_assert_str_eq(v.items[0].code, "ERR_BLANK");
    }
    char long_text[600];
    memset(long_text, 'x', 501);
    long_text[501] = '\0';
    struct validation v = {0};
    struct post_request r = {long_text, "nope", 0, NULL, false, NULL, NULL};
    cr_assert_eq(statuses_post(&c, alice, &r, &a, &s, &v, NULL), ERR_INVALID);
    cr_assert_str_eq(v.items[0].field, "visibility");
    memset(&v, 0, sizeof(v));
    r.visibility = NULL;
    cr_assert_eq(statuses_post(&c, alice, &r, &a, &s, &v, NULL), ERR_INVALID);
    cr_assert_str_eq(v.items[0].code, "ERR_TOO_LONG");
    memset(&v, 0, sizeof(v));
    r.text = "reply";
    r.in_reply_to_id = 12345;
    cr_assert_eq(statuses_post(&c, alice, &r, &a, &s, &v, NULL), ERR_NOT_FOUND);
}

Test(statuses, visibility_rules)
{
    uint64_t alice = add_account("alice", false), bob = add_account("bob", false),
             eve = add_account("eve", false);
    struct status *priv = post(alice, "followers", "private", 0);
    struct status *direct = post(alice, "@bob psst", "direct", 0);
    struct status *s;
    struct relationship rel;
    cr_assert_eq(statuses_get(&c, bob, priv->id, &a, &s, NULL), ERR_NOT_FOUND);
    cr_assert_eq(statuses_get(&c, 0, priv->id, &a, &s, NULL), ERR_NOT_FOUND);
    cr_assert_eq(social_follow(&c, bob, alice, true, &rel, NULL), 0);
    cr_assert(rel.following);
    cr_assert_eq(statuses_get(&c, bob, priv->id, &a, &s, NULL), 0);
    cr_assert_eq(statuses_get(&c, bob, direct->id, &a, &s, NULL), 0);
    cr_assert_eq(statuses_get(&c, eve, direct->id, &a, &s, NULL), ERR_NOT_FOUND);
    cr_assert_eq(statuses_get(&c, alice, direct->id, &a, &s, NULL), 0);
    /* replying to what you cannot see is "not found" */
    struct post_request r = {"reply", NULL, priv->id, NULL, false, NULL, NULL};
    struct validation v = {0};
    cr_assert_eq(statuses_post(&c, eve, &r, &a, &s, &v, NULL), ERR_NOT_FOUND);
}

Test(statuses, delete_only_own)
{
    uint64_t alice = add_account("alice", false), bob = add_account("bob", false);
    struct status *s = post(alice, "mine", NULL, 0), *out;
    cr_assert_eq(statuses_delete(&c, bob, s->id, &a, &out, NULL), ERR_FORBIDDEN);
    cr_assert_eq(statuses_delete(&c, alice, s->id, &a, &out, NULL), 0);
    cr_assert_str_eq(out->text, "mine");
    cr_assert_eq(statuses_get(&c, alice, s->id, &a, &out, NULL), ERR_NOT_FOUND);
}

Test(statuses, thread_context)
{
    uint64_t alice = add_account("alice", false), bob = add_account("bob", false);
    struct status *root = post(alice, "root", NULL, 0);
    struct status *r1 = post(bob, "r1", NULL, root->id);
    struct status *r2 = post(alice, "r2", NULL, root->id);
    struct status *r11 = post(alice, "r1.1", NULL, r1->id);
    struct status *hidden = post(bob, "hidden", "direct", r1->id);
    struct status_list up, down;
    cr_assert_eq(statuses_context(&c, alice, r11->id, &a, &up, &down, NULL), 0);
    cr_assert_eq(up.n, 2);
    cr_assert_eq(up.items[0].id, root->id);
    cr_assert_eq(up.items[1].id, r1->id);
    cr_assert_eq(statuses_context(&c, alice, root->id, &a, &up, &down, NULL), 0);
    cr_assert_eq(up.n, 0);
    cr_assert_eq(down.n, 3); /* r1, r1.1, r2: depth first; bob's direct reply is not shown */
    cr_assert_eq(down.items[0].id, r1->id);
    cr_assert_eq(down.items[1].id, r11->id);
    cr_assert_eq(down.items[2].id, r2->id);
    cr_assert_eq(statuses_context(&c, bob, root->id, &a, &up, &down, NULL), 0);
    cr_assert_eq(down.n, 4);
    (void)hidden;
}

Test(statuses, idempotency_key)
{
    uint64_t alice = add_account("alice", false);
    struct post_request r = {"once", NULL, 0, NULL, false, NULL, "key-1"};
    struct validation v = {0};
    struct status *s1, *s2;
    cr_assert_eq(statuses_post(&c, alice, &r, &a, &s1, &v, NULL), 0);
    cr_assert_eq(statuses_post(&c, alice, &r, &a, &s2, &v, NULL), 0);
    cr_assert_eq(s1->id, s2->id);
    now += 3600001; /* an hour later the key is forgotten */
    cr_assert_eq(statuses_post(&c, alice, &r, &a, &s2, &v, NULL), 0);
    cr_assert_neq(s1->id, s2->id);
}

Test(statuses, favourites_are_idempotent)
{
    uint64_t alice = add_account("alice", false), bob = add_account("bob", false);
    struct status *s = post(alice, "like", NULL, 0), *out;
    cr_assert_eq(statuses_favourite(&c, bob, s->id, true, &a, &out, NULL), 0);
    cr_assert_eq(statuses_favourite(&c, bob, s->id, true, &a, &out, NULL), 0);
    cr_assert_eq(out->favourites_count, 1);
    cr_assert_eq(statuses_favourite(&c, bob, s->id, false, &a, &out, NULL), 0);
    cr_assert_eq(statuses_favourite(&c, bob, s->id, false, &a, &out, NULL), 0);
    cr_assert_eq(out->favourites_count, 0);
    cr_assert_eq(statuses_favourite(&c, bob, 999, true, &a, &out, NULL), ERR_NOT_FOUND);
}

Test(statuses, follow_requests_for_locked_accounts)
{
    uint64_t alice = add_account("alice", true), bob = add_account("bob", false);
    struct relationship rel;
    cr_assert_eq(social_follow(&c, bob, bob, true, &rel, NULL), ERR_FORBIDDEN);
    cr_assert_eq(social_follow(&c, bob, 424242, true, &rel, NULL), ERR_NOT_FOUND);
    cr_assert_eq(social_follow(&c, bob, alice, true, &rel, NULL), 0);
    cr_assert(rel.requested);
    cr_assert_not(rel.following);
    cr_assert_eq(social_answer_request(&c, alice, bob, true, &rel, NULL), 0);
    cr_assert(rel.followed_by);
    cr_assert_eq(social_answer_request(&c, alice, bob, true, &rel, NULL), ERR_NOT_FOUND);
    struct account *acct;
    cr_assert_eq(account_store_get(&c.accounts, alice, &a, &acct, NULL), 0);
    cr_assert_eq(acct->followers_count, 1);
    /* a rejected request leaves nothing behind */
    uint64_t carol = add_account("carol", true);
    cr_assert_eq(social_follow(&c, bob, carol, true, &rel, NULL), 0);
    cr_assert_eq(social_answer_request(&c, carol, bob, false, &rel, NULL), 0);
    cr_assert_not(rel.followed_by);
    cr_assert_not(rel.requested_by);
}

/* ---- the events the use cases write to the outbox (docs/events.md) ---- */

/* The data of every outbox row after `after`, as parsed JSON, with their types in *types. */
static size_t outbox_rows(uint64_t after, const char **types, json_t **data, size_t max)
{
    struct outbox_store o = outbox_store_mem(db);
    struct outbox_row *rows;
    size_t n = 0;
    cr_assert_eq(outbox_store_list(&o, after, 100, &a, &rows, &n, NULL), 0);
    cr_assert_leq(n, max);
    for (size_t i = 0; i < n; i++) {
        types[i] = rows[i].event.type;
        data[i] = json_loads(rows[i].event.data, 0, NULL);
        cr_assert_not_null(data[i], "row %zu: %s", i, rows[i].event.data);
    }
    return n;
}

static uint64_t outbox_head(void)
{
    struct outbox_store o = outbox_store_mem(db);
    uint64_t h = 0;
    cr_assert_eq(outbox_store_head(&o, &h, NULL), 0);
    return h;
}

static const char *str(json_t *obj, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *v = obj;
    for (char *save, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    cr_assert(json_is_string(v), "%s is not a string", path);
    return json_string_value(v);
}

static json_int_t num(json_t *obj, const char *key, const char *field)
{
    json_t *v = json_object_get(json_object_get(obj, key), field);
    cr_assert(json_is_integer(v), "%s.%s", key, field);
    return json_integer_value(v);
}

static void decref_all(json_t **data, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(data[i]);
}

Test(statuses, post_reply_and_delete_write_status_events)
{
    uint64_t alice = add_account("alice", false), bob = add_account("bob", false);
    struct status *parent = post(alice, "first", NULL, 0);
    uint64_t before = outbox_head();
    struct status *reply = post(bob, "@alice @nobody @alice yes", "unlisted", parent->id);
    struct status *out;
    cr_assert_eq(statuses_delete(&c, bob, reply->id, &a, &out, NULL), 0);
    /* A failing post writes nothing. */
    struct post_request r = {"x", NULL, 999, NULL, false, NULL, NULL};
    struct validation v = {0};
    cr_assert_eq(statuses_post(&c, bob, &r, &a, &out, &v, NULL), ERR_NOT_FOUND);

    const char *types[4];
    json_t *data[4];
    size_t n = outbox_rows(before, types, data, 4);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(types[0], "status.created");
    char id[24], aid[24], bid[24];
    snprintf(id, sizeof(id), "%llu", (unsigned long long)reply->id);
    snprintf(aid, sizeof(aid), "%llu", (unsigned long long)alice);
    snprintf(bid, sizeof(bid), "%llu", (unsigned long long)bob);
    cr_assert_str_eq(str(data[0], "status.id"), id);
    cr_assert_str_eq(str(data[0], "status.visibility"), "unlisted");
    cr_assert_str_eq(str(data[0], "status.account.id"), bid);
    cr_assert_eq(num(data[0], "status", "replies_count"), 0);
    cr_assert_eq(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(data[0], "status"), "account"), "statuses_count")),
        1, "the author as right after the post");
    json_t *m = json_object_get(data[0], "mentioned_account_ids");
    cr_assert_eq(json_array_size(m), 1, "local accounts, without repeats");
    cr_assert_str_eq(json_string_value(json_array_get(m, 0)), aid);
    cr_assert_str_eq(str(data[0], "in_reply_to_account_id"), aid);
    cr_assert_str_eq(types[1], "status.deleted");
    cr_assert_str_eq(str(data[1], "status_id"), id);
    cr_assert_str_eq(str(data[1], "account_id"), bid);
    cr_assert_str_eq(str(data[1], "visibility"), "unlisted");
    m = json_object_get(data[1], "mentioned_account_ids");
    cr_assert_eq(json_array_size(m), 1, "the deleted status' mentions");
    cr_assert_str_eq(json_string_value(json_array_get(m, 0)), aid);
    decref_all(data, n);
}

Test(statuses, favourites_write_events_once)
{
    uint64_t alice = add_account("alice", false), bob = add_account("bob", false);
    struct status *s = post(alice, "like me", NULL, 0), *out;
    uint64_t before = outbox_head();
    for (int i = 0; i < 2; i++)
        cr_assert_eq(statuses_favourite(&c, bob, s->id, true, &a, &out, NULL), 0);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(statuses_favourite(&c, bob, s->id, false, &a, &out, NULL), 0);
    cr_assert_eq(statuses_favourite(&c, bob, 999, true, &a, &out, NULL), ERR_NOT_FOUND);
    const char *types[4];
    json_t *data[4];
    size_t n = outbox_rows(before, types, data, 4);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(types[0], "favourite.created");
    cr_assert_str_eq(types[1], "favourite.deleted");
    cr_assert_eq(num(data[0], "status", "favourites_count"), 1, "as right after the favourite");
    cr_assert(json_is_false(json_object_get(json_object_get(data[0], "status"), "favourited")));
    cr_assert_str_eq(str(data[0], "account.username"), "bob");
    cr_assert_str_eq(str(data[0], "favourite_id"), str(data[1], "favourite_id"));
    cr_assert_str_eq(str(data[1], "status_account_id"), str(data[0], "status.account.id"));
    decref_all(data, n);
}

Test(statuses, follow_request_accept_reject_and_unfollow_events)
{
    uint64_t carol = add_account("carol", true), bob = add_account("bob", false),
             dave = add_account("dave", false);
    struct relationship rel;
    uint64_t before = outbox_head();
    cr_assert_eq(social_follow(&c, bob, carol, true, &rel, NULL), 0);
    cr_assert_eq(social_follow(&c, bob, carol, true, &rel, NULL), 0); /* repeat: nothing */
    cr_assert_eq(social_answer_request(&c, carol, bob, true, &rel, NULL), 0);
    cr_assert_eq(social_follow(&c, dave, carol, true, &rel, NULL), 0);
    cr_assert_eq(social_answer_request(&c, carol, dave, false, &rel, NULL), 0);
    cr_assert_eq(social_answer_request(&c, carol, dave, true, &rel, NULL), ERR_NOT_FOUND);
    cr_assert_eq(social_follow(&c, bob, carol, false, &rel, NULL), 0);
    cr_assert_eq(social_follow(&c, bob, carol, false, &rel, NULL), 0); /* repeat: nothing */
    const char *types[8];
    json_t *data[8];
    size_t n = outbox_rows(before, types, data, 8);
    static const char *const want[] = {"follow_request.created", "follow_request.deleted",
                                       "follow.created",         "follow_request.created",
                                       "follow_request.deleted", "follow.deleted"};
    cr_assert_eq(n, 6);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(types[i], want[i], "event %zu", i);
    cr_assert(json_is_true(json_object_get(data[1], "accepted")));
    cr_assert_str_eq(str(data[0], "follow_id"), str(data[1], "follow_id"));
    cr_assert_str_eq(str(data[1], "follow_id"), str(data[2], "follow_id"));
    cr_assert_str_eq(str(data[2], "account.username"), "bob");
    cr_assert_str_eq(str(data[2], "target.username"), "carol");
    cr_assert_eq(num(data[2], "account", "following_count"), 1, "as right after the accept");
    cr_assert_eq(num(data[2], "target", "followers_count"), 1);
    cr_assert_eq(num(data[0], "target", "followers_count"), 0, "a request counts nothing");
    cr_assert(json_is_false(json_object_get(data[4], "accepted")));
    cr_assert_str_eq(str(data[5], "follow_id"), str(data[2], "follow_id"));
    cr_assert_null(json_object_get(data[5], "accepted"));
    decref_all(data, n);
}
