/* stores_mem.h - in-memory adapters of the account, app and token store ports, for unit tests.
 * Thread-safe (one mutex per store); strings are copied on insert and results are copied into
 * the caller's arena. Lookups scan linearly: fine for tests, not meant for production data. */
#ifndef SERVICES_THREADLY_ADAPTERS_MEM_STORES_MEM_H
#define SERVICES_THREADLY_ADAPTERS_MEM_STORES_MEM_H

#include "services/threadly/ports/account_store.h"
#include "services/threadly/ports/app_store.h"
#include "services/threadly/ports/token_store.h"

/* Each returns a new, empty store; its close() frees everything it holds. */
struct account_store account_store_mem_new(void);
struct app_store app_store_mem_new(void);
struct token_store token_store_mem_new(void);

#endif
