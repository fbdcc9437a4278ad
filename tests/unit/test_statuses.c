/* test_statuses.c - the statuses and follows use cases against the mem stores with a fake
 * clock: validation, mentions, visibility, deletion rights, threads, idempotency, follow
 * requests. */
#include "services/threadly/adapters/http/api.h"
#include "services/threadly/adapters/mem/stores_mem.h"
#include "services/threadly/app/statuses.h"

#include <criterion/criterion.h>
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
