/* mail_events.h - use case: the mails a domain event asks for (docs/email.md), handed to the
 * mail outbox by the consumer before it stores the event's notifications. */
#ifndef SERVICES_NOTIFICATION_APP_MAIL_EVENTS_H
#define SERVICES_NOTIFICATION_APP_MAIL_EVENTS_H

#include "services/notification/app/mail_outbox.h"
#include "services/notification/domain/rules.h"

/* account.created: records the recipient and queues the confirmation mail (when the event
 * carries a confirmation_token); account.updated: refreshes the recipient's names;
 * account.password_reset_requested: queues the reset mail; and one follow, mention or
 * favourite mail (per preferences and flood control) for each such notification in ch.
 * Idempotent: a redelivered event changes nothing (the outbox deduplicates). Returns 0, or the
 * store's error; a mail that cannot be made (ERR_INVALID, a bad address) is skipped and
 * counted in *skipped (may be NULL), not returned. */
int mail_events_apply(struct mail_outbox *o, const struct domain_event *e,
                      const struct event_changes *ch, int *skipped, struct err *err);

#endif
