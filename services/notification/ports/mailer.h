/* mailer.h - port: hands a formatted message (domain/mail.h) to a mail server.
 * Adapters: smtp (libcurl, adapters/smtp), mem (tests, adapters/mem). An instance is used by one
 * thread at a time (the mail sender): the smtp adapter keeps one connection open across
 * messages. */
#ifndef SERVICES_NOTIFICATION_PORTS_MAILER_H
#define SERVICES_NOTIFICATION_PORTS_MAILER_H

#include "lib/base/err.h"
#include "lib/base/xalloc.h"

#include <stddef.h>

struct mailer_ops {
    /* Sends data[0..len) (RFC 5322, CRLF line ends) from envelope sender `from` to the one
     * recipient `to` (addr-specs). 0: the server accepted it. ERR_UNAVAILABLE: a transient
     * failure, try again later (connection refused or lost, timeout, a 4xx reply);
     * ERR_INVALID: a permanent one, do not retry (a 5xx reply). err->msg says which reply. */
    int (*send)(void *ctx, const char *from, const char *to, const char *data, size_t len,
                struct err *err);
    void (*close)(void *ctx);
};

struct mailer {
    const struct mailer_ops *ops;
    void *ctx;
};

static inline int mailer_send(struct mailer *m, const char *from, const char *to, const char *data,
                              size_t len, struct err *err)
{
    ASSERT(from && to && data);
    return m->ops->send(m->ctx, from, to, data, len, err);
}

static inline void mailer_close(struct mailer *m)
{
    if (m->ops)
        m->ops->close(m->ctx);
}

#endif
