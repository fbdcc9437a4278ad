/* event_decoder_json.h - the event_decoder port on jansson (docs/events.md payloads). */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_JSON_EVENT_DECODER_JSON_H
#define SERVICES_NOTIFICATION_ADAPTERS_JSON_EVENT_DECODER_JSON_H

#include "services/notification/ports/event_decoder.h"

/* Stateless; nothing to free. */
struct event_decoder event_decoder_json(void);

#endif
