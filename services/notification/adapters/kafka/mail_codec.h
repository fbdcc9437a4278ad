/* mail_codec.h - the wire form of notification-service's mail topics (docs/email.md,
 * "mail-events"): `mail.requested` envelopes on mail-events (what mail_outbox_request needs),
 * and `mail.failed` envelopes on mail-events.dlq (a dead mail, or a message of mail-events that
 * could not be decoded). Formatting and strict parsing only; no Kafka here. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_KAFKA_MAIL_CODEC_H
#define SERVICES_NOTIFICATION_ADAPTERS_KAFKA_MAIL_CODEC_H

#include "lib/base/arena.h"
#include "lib/base/buf.h"
#include "lib/base/err.h"
#include "lib/base/id.h"
#include "services/notification/app/mail_outbox.h"

#include <stddef.h>
#include <stdint.h>

#define MAIL_CODEC_REQUESTED "mail.requested"
#define MAIL_CODEC_FAILED "mail.failed"
#define MAIL_CODEC_PRODUCER "notification-service"

/* Appends the mail.requested envelope of m (version 1, key: the recipient's id) with envelope
 * id `id`, occurred at now_ms; key (char[ID_STR_LEN]) gets the message key. */
void mail_codec_format_request(const struct mail_event *m, uint64_t id, int64_t now_ms,
                               struct buf *out, char *key);

/* Parses a mail-events message into *out (strings in a). ERR_INVALID with the reason for
 * anything but a version 1 mail.requested envelope whose data has an event_id and recipient_id
 * (ids), a kind other than digest, the fields that kind needs (confirmation, password_reset:
 * non-empty email, username, token; follow, mention, favourite: actor_acct), every field of
 * the right type and length, and a message key (NULL: not checked) equal to recipient_id. */
int mail_codec_parse_request(const char *text, size_t len, const char *key, struct arena *a,
                             struct mail_event *out, struct err *err);

/* Appends the mail.failed envelope of a dead mail: {"mail_id", "event_id", "recipient_id",
 * "kind", "to", "attempts", "reason"}; key (char[ID_STR_LEN]) gets the recipient's id. The message
 * itself (it may hold a confirmation or reset link) is not copied. */
void mail_codec_format_dead(const struct mail_job *job, const char *reason, uint64_t id,
                            int64_t now_ms, struct buf *out, char *key);

/* Appends the mail.failed envelope of an undecodable mail-events message: {"reason",
 * "source": {"topic", "partition", "offset", "key"}, "value": the message as text (bytes that
 * are not UTF-8 as U+FFFD; at most 64 KiB)}; its key is the message's key, or "0". */
void mail_codec_format_garbage(const char *reason, const char *topic, int32_t partition,
                               int64_t offset, const char *msg_key, const char *value,
                               size_t value_len, uint64_t id, int64_t now_ms, struct buf *out);

#endif
