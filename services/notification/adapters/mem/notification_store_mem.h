/* notification_store_mem.h - the notification_store port in memory, for unit tests. One mutex
 * around everything, so a batch is atomic like a transaction. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_MEM_NOTIFICATION_STORE_MEM_H
#define SERVICES_NOTIFICATION_ADAPTERS_MEM_NOTIFICATION_STORE_MEM_H

#include "services/notification/ports/notification_store.h"

/* Free with notification_store_close. */
struct notification_store notification_store_mem_new(void);

#endif
