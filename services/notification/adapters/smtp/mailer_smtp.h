/* mailer_smtp.h - the mailer port over SMTP on libcurl: smtp:// (optionally upgraded with
 * STARTTLS) or smtps:// (TLS from the start), AUTH when a user is configured. One curl handle,
 * so one connection is kept open and reused across messages until the server or an error
 * closes it. Not thread-safe: one sender thread per instance. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_SMTP_MAILER_SMTP_H
#define SERVICES_NOTIFICATION_ADAPTERS_SMTP_MAILER_SMTP_H

#include "services/notification/ports/mailer.h"

#include <stdbool.h>

struct mailer_smtp_config {
    const char *url;      /* smtp://host[:port] or smtps://host[:port] */
    const char *user;     /* NULL or "": no AUTH */
    const char *password; /* with user (from THREADLY_SMTP_PASSWORD, never a flag) */
    bool starttls;        /* smtp:// only: require STARTTLS (CURLUSESSL_ALL) */
    long timeout_ms;      /* per message, connection included; 0: 30000 */
};

/* Checks cfg (the URL scheme above; a path, as in smtp://host/name, is the EHLO name) and makes
 * the mailer; ERR_INVALID with err set when cfg is unusable. The config strings are copied. */
int mailer_smtp_open(const struct mailer_smtp_config *cfg, struct mailer *out, struct err *err);

/* How many connections the mailer opened so far (for tests and the bench: reuse works when
 * this stays 1 across messages). */
long mailer_smtp_connects(const struct mailer *m);

#endif
