/* mail_sender.h - the thread that sends notification-service's queued mails: passes of
 * mail_outbox_send_due, woken when a mail is queued, when a retry or a flood window is due, and
 * at least once a second. Registers the mail metrics. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_SMTP_MAIL_SENDER_H
#define SERVICES_NOTIFICATION_ADAPTERS_SMTP_MAIL_SENDER_H

#include "lib/base/log.h"
#include "lib/base/metrics.h"
#include "services/notification/app/mail_outbox.h"

struct mail_sender;

/* Starts the thread on o (which must outlive it) and sets o->queued to wake it. metrics may be
 * NULL. */
struct mail_sender *mail_sender_start(struct mail_outbox *o, struct logger *log,
                                      struct metrics *metrics);
/* Stops and joins the thread (after the pass in progress); NULL is a no-op. */
void mail_sender_stop(struct mail_sender *s);

#endif
