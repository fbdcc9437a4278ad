/* mail_store_mem.h - the mail_store port in memory, for unit tests: arrays under one mutex. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_MEM_MAIL_STORE_MEM_H
#define SERVICES_NOTIFICATION_ADAPTERS_MEM_MAIL_STORE_MEM_H

#include "services/notification/ports/mail_store.h"

/* A new, empty store; its close() frees it. */
struct mail_store mail_store_mem_new(void);

#endif
