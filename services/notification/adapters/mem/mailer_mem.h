/* mailer_mem.h - the mailer port in memory, for unit tests: keeps every message it accepted, and
 * answers with the failures a test scripts (per recipient, or for the next n sends). */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_MEM_MAILER_MEM_H
#define SERVICES_NOTIFICATION_ADAPTERS_MEM_MAILER_MEM_H

#include "services/notification/ports/mailer.h"

#include <stddef.h>

struct mailer_mem_sent {
    char *from, *to, *data; /* owned */
};

struct mailer_mem {
    struct mailer_mem_sent *sent;
    size_t nsent, cap;
    size_t attempts;           /* every send call, failed ones included */
    int fail_next;             /* that many next sends fail with fail_code */
    int fail_code;             /* ERR_UNAVAILABLE or ERR_INVALID */
    const char *reject_prefix; /* recipients starting with it get ERR_INVALID (a 550); NULL: none */
};

/* A new mailer on m (zeroed by the caller); close() frees the messages, not m. */
struct mailer mailer_mem(struct mailer_mem *m);

#endif
