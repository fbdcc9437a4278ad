/* entity_cache_mem.h - the entity cache port in this process's memory (ports/entity_cache.h):
 * statuses, accounts and favouriter lists up to about max_bytes together, the least recently
 * read evicted first. Each process keeps its own, kept coherent by app/entities.c and the
 * outbox tail. */
#ifndef SERVICES_THREADLY_ADAPTERS_MEM_ENTITY_CACHE_MEM_H
#define SERVICES_THREADLY_ADAPTERS_MEM_ENTITY_CACHE_MEM_H

#include "services/threadly/ports/entity_cache.h"

/* max_bytes >= 64 KiB. Release with entity_cache_close. */
struct entity_cache entity_cache_mem_new(size_t max_bytes);

#endif
