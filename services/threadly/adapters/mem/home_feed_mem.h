/* home_feed_mem.h - the home feed port in this process's memory (ports/home_feed.h): up to
 * max_accounts feeds of up to capacity ids each, the least recently read evicted first. The
 * production adapter of the embedded profile and of every process until a Redis adapter exists
 * (each process then keeps its own feeds, kept coherent by app/home.c and the outbox tail). */
#ifndef SERVICES_THREADLY_ADAPTERS_MEM_HOME_FEED_MEM_H
#define SERVICES_THREADLY_ADAPTERS_MEM_HOME_FEED_MEM_H

#include "services/threadly/ports/home_feed.h"

/* capacity >= 1 ids per feed, max_accounts >= 1 feeds. Release with home_feed_close. */
struct home_feed home_feed_mem_new(size_t capacity, size_t max_accounts);

#endif
