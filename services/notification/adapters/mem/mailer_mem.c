/* mailer_mem.c - the mailer port in memory (tests). */
#include "services/notification/adapters/mem/mailer_mem.h"

#include "lib/base/xalloc.h"

#include <string.h>

static int mailer_mem_send(void *ctx, const char *from, const char *to, const char *data,
                           size_t len, struct err *err)
{
    struct mailer_mem *m = ctx;
    m->attempts++;
    if (m->fail_next > 0) {
        m->fail_next--;
        return err_set(err, m->fail_code,
                       m->fail_code == ERR_INVALID ? "550 scripted failure"
                                                   : "451 scripted failure");
    }
    if (m->reject_prefix && strncmp(to, m->reject_prefix, strlen(m->reject_prefix)) == 0)
        return err_set(err, ERR_INVALID, "550 mailbox unavailable");
    if (m->nsent == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->sent = xrealloc(m->sent, m->cap * sizeof(*m->sent));
    }
    char *copy = xmalloc(len + 1);
    memcpy(copy, data, len);
    copy[len] = '\0';
    m->sent[m->nsent++] = (struct mailer_mem_sent){xstrdup(from), xstrdup(to), copy};
    return 0;
}

static void mailer_mem_close(void *ctx)
{
    struct mailer_mem *m = ctx;
    for (size_t i = 0; i < m->nsent; i++) {
        free(m->sent[i].from);
        free(m->sent[i].to);
        free(m->sent[i].data);
    }
    free(m->sent);
    m->sent = NULL;
    m->nsent = m->cap = 0;
}

static const struct mailer_ops mailer_mem_ops = {.send = mailer_mem_send,
                                                 .close = mailer_mem_close};

struct mailer mailer_mem(struct mailer_mem *m)
{
    return (struct mailer){&mailer_mem_ops, m};
}
