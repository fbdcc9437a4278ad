/* stores_mem.h - in-memory adapters of the store ports, for unit tests.
 * Thread-safe; strings are copied on insert and results are copied into the caller's arena.
 * Lookups scan linearly: fine for tests, not meant for production data. */
#ifndef SERVICES_THREADLY_ADAPTERS_MEM_STORES_MEM_H
#define SERVICES_THREADLY_ADAPTERS_MEM_STORES_MEM_H

#include "services/threadly/ports/account_store.h"
#include "services/threadly/ports/app_store.h"
#include "services/threadly/ports/email_token_store.h"
#include "services/threadly/ports/outbox_store.h"
#include "services/threadly/ports/social_store.h"
#include "services/threadly/ports/status_store.h"
#include "services/threadly/ports/token_store.h"

/* The in-memory "database" of accounts, statuses, follows and favourites, under one mutex:
 * the status and social stores change account and status counters in the same critical
 * section as the change, as the sqlite adapters do in one transaction. */
struct mem_db;

/* A new, empty database; mem_db_free(NULL) is a no-op. The stores made on db must not be used
 * after mem_db_free; their close() does nothing. */
struct mem_db *mem_db_new(void);
void mem_db_free(struct mem_db *db);
struct account_store account_store_mem(struct mem_db *db);
struct status_store status_store_mem(struct mem_db *db);
struct social_store social_store_mem(struct mem_db *db);
struct token_store token_store_mem(struct mem_db *db);
struct outbox_store outbox_store_mem(struct mem_db *db);
struct email_token_store email_token_store_mem(struct mem_db *db);

/* Each returns a new, empty store of its own; its close() frees everything it holds.
 * account_store_mem_new() and token_store_mem_new() are stores on a private mem_db that close()
 * frees. */
struct account_store account_store_mem_new(void);
struct app_store app_store_mem_new(void);
struct token_store token_store_mem_new(void);

#endif
