/* core_fixture.h - threadly-service cores on one shared in-memory database, for the unit tests
 * of the caches (test_home.c, test_entities.c): each node has its own id generator (node
 * number) and API renderer, a fake clock shared by all, and no cache until the test adds one. */
#ifndef TESTS_UNIT_CORE_FIXTURE_H
#define TESTS_UNIT_CORE_FIXTURE_H

#include "services/threadly/adapters/http/api.h"
#include "services/threadly/adapters/mem/stores_mem.h"

struct test_node {
    struct core c;
    struct idgen ids;
    struct api api;
};

/* The fake clock's time, in ms; tests move it forward. */
extern int64_t fixture_now;

/* n: stores on db, ids of node number `node`, the fake clock, the event encoder. */
void fixture_node_init(struct test_node *n, struct mem_db *db, unsigned node);
/* Inserts accounts user0..user{count-1} (the last one locked when last_locked) through n and
 * writes their ids to ids. */
void fixture_add_accounts(struct test_node *n, uint64_t *ids, int count, bool last_locked);
/* A deterministic pseudo-random number below n (xorshift). */
uint64_t fixture_rnd(uint64_t n);

#endif
