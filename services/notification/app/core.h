/* core.h - what notification-service's use cases work with: the outbound ports plus clock and
 * ids. Filled in by main.c (or a test), shared read-only by every thread. */
#ifndef SERVICES_NOTIFICATION_APP_CORE_H
#define SERVICES_NOTIFICATION_APP_CORE_H

#include "lib/base/clock.h"
#include "lib/base/id.h"
#include "lib/base/log.h"
#include "services/notification/ports/event_decoder.h"
#include "services/notification/ports/live_stream.h"
#include "services/notification/ports/notification_store.h"
#include "services/notification/ports/token_verifier.h"

struct notif_core {
    struct notification_store store;
    struct event_decoder decoder;
    struct token_verifier tokens;
    struct live_stream live; /* ops NULL: no streaming */
    const struct clock *clock;
    struct idgen *ids;
    struct logger *log; /* may be NULL (tests) */
};

#endif
