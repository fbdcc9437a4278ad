/* db_mem.h - the state shared by the mem adapters of the account, status and social stores
 * (struct mem_db of stores_mem.h), and helpers they share. Not a port: only adapters/mem
 * includes it. Every field and helper requires db->mu held. */
#ifndef SERVICES_THREADLY_ADAPTERS_MEM_DB_MEM_H
#define SERVICES_THREADLY_ADAPTERS_MEM_DB_MEM_H

#include "lib/base/xalloc.h"
#include "services/threadly/adapters/mem/stores_mem.h"

#include <pthread.h>

struct mem_follow {
    uint64_t id, follower, followee;
    bool requested;
    int64_t at_ms;
};

struct mem_favourite {
    uint64_t id, account_id, status_id;
    int64_t at_ms;
};

struct mem_revoked_token {
    uint64_t jti, account_id;
    int64_t at_ms;
};

struct mem_email_token {
    char *hash; /* owned */
    int kind;
    uint64_t account_id;
    int64_t created_at_ms, expires_at_ms, used_at_ms;
};

struct mem_confirmation {
    uint64_t account_id;
    int64_t at_ms;
};

struct mem_cutoff {
    uint64_t account_id, below_jti;
};

struct mem_db {
    pthread_mutex_t mu;       /* guards everything below */
    struct account *accounts; /* strings owned (xstrdup) */
    size_t naccounts, accounts_cap;
    struct status *statuses; /* strings, mentions and tags owned */
    size_t nstatuses, statuses_cap;
    struct mem_follow *follows;
    size_t nfollows, follows_cap;
    struct mem_favourite *favourites;
    size_t nfavourites, favourites_cap;
    struct mem_revoked_token *revoked;
    size_t nrevoked, revoked_cap;
    struct outbox_row *outbox; /* seq = outbox_pruned + index + 1; strings owned */
    size_t noutbox, outbox_cap;
    uint64_t outbox_pruned; /* rows pruned from the front */
    struct mem_email_token *email_tokens;
    size_t nemail_tokens, email_tokens_cap;
    struct mem_confirmation *confirmations;
    size_t nconfirmations, confirmations_cap;
    struct mem_cutoff *cutoffs;
    size_t ncutoffs, cutoffs_cap;
};

/* Makes room for one more item in the array arr of n used out of cap. */
#define MEM_DB_RESERVE(arr, n, cap)                                                                \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 16;                                                          \
            (arr) = xrealloc((arr), (cap) * sizeof(*(arr)));                                       \
        }                                                                                          \
    } while (0)

/* The account or status with this id, or NULL. */
struct account *mem_db_account(struct mem_db *db, uint64_t id);
struct status *mem_db_status(struct mem_db *db, uint64_t id);
/* Frees what the store owns of *s (not s itself). */
void mem_db_status_free(struct status *s);
/* Copies *src, its strings and arrays into the arena. */
void mem_db_status_copy(const struct status *src, struct arena *a, struct status *dst);

/* Builds emit's events for change ch (nothing for a NULL emit) and appends copies of them to
 * the outbox, in the critical section of the change. */
void mem_db_outbox_write(struct mem_db *db, const struct outbox_emit *emit,
                         const struct outbox_change *ch);

/* A candidate of a paged list: its cursor id and the index of what it lists. */
struct mem_row {
    uint64_t id;
    size_t i;
};

/* Keeps the rows inside page (see struct page) and orders them newest first; returns how many
 * are kept. page->limit must be 1..80. */
size_t mem_db_page(struct mem_row *rows, size_t n, const struct page *page);

#endif
