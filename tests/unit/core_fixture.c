/* core_fixture.c - see core_fixture.h. */
#include "tests/unit/core_fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

int64_t fixture_now = 1795957323004LL;
static const struct clock fake_clock = {clock_fake_now_ms, &fixture_now};
static struct instance_settings settings = {.base_url = "https://t.example", .domain = "t.example"};

void fixture_node_init(struct test_node *n, struct mem_db *db, unsigned node)
{
    memset(n, 0, sizeof(*n));
    idgen_init(&n->ids, node, &fake_clock);
    n->api.core = &n->c;
    n->api.settings = &settings;
    n->c.accounts = account_store_mem(db);
    n->c.statuses = status_store_mem(db);
    n->c.social = social_store_mem(db);
    n->c.clock = &fake_clock;
    n->c.ids = &n->ids;
    n->c.base_url = settings.base_url;
    n->c.domain = settings.domain;
    n->c.max_characters = 500;
    n->c.encoder = event_encoder_http(&n->api);
}

void fixture_add_accounts(struct test_node *n, uint64_t *ids, int count, bool last_locked)
{
    for (int i = 0; i < count; i++) {
        char name[16], email[64];
        snprintf(name, sizeof(name), "user%d", i);
        snprintf(email, sizeof(email), "%s@example.org", name);
        struct account a = {0};
        a.id = idgen_next(&n->ids);
        a.username = name;
        a.email = email;
        a.display_name = "";
        a.note = "";
        a.password_hash = "x";
        a.locked = last_locked && i == count - 1;
        a.created_at_ms = fixture_now;
        cr_assert_eq(account_store_insert(&n->c.accounts, &a, NULL, NULL), 0);
        ids[i] = a.id;
    }
}

uint64_t fixture_rnd(uint64_t n)
{
    static uint64_t state = 88172645463325252ULL;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state % n;
}
