/* mail_events.c - domain events to mail requests. */
#include "services/notification/app/mail_events.h"

#include <string.h>

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* Counts a mail that cannot be made instead of failing the event. */
static int request(struct mail_outbox *o, const struct mail_event *m, int *skipped, struct err *err)
{
    enum mail_outcome out;
    if (o->forward)
        return o->forward(o->forward_ctx, m, err);
    int rc = mail_outbox_request(o, m, &out, err);
    if (rc == ERR_INVALID) {
        if (skipped)
            (*skipped)++;
        return 0;
    }
    return rc;
}

static int account(struct mail_outbox *o, const struct domain_event *e, int *skipped,
                   struct err *err)
{
    const struct domain_mail_fields *f = &e->mail;
    struct mail_recipient r = {e->actor_id, f->email, or_empty(f->actor_username),
                               or_empty(f->actor_display_name), f->locale ? f->locale : "en"};
    if (e->kind == DOMAIN_ACCOUNT_UPDATED) {
        /* The event has no email: keep the one account.created gave. */
        struct arena a;
        struct mail_recipient old;
        arena_init(&a, 1024);
        int rc = mail_store_recipient_get(&o->store, e->actor_id, &a, &old, err);
        if (rc == 0) {
            r.email = old.email;
            r.locale = old.locale;
            rc = mail_outbox_recipient(o, &r, err);
        }
        arena_release(&a);
        return rc == ERR_NOT_FOUND ? 0 : rc;
    }
    if (!f->email)
        return 0;
    int rc = mail_outbox_recipient(o, &r, err);
    if (rc || !f->token)
        return rc;
    struct mail_event m = {.event_id = e->id,
                           .recipient_id = e->actor_id,
                           .kind = e->kind == DOMAIN_ACCOUNT_CREATED ? MAIL_CONFIRMATION
                                                                     : MAIL_PASSWORD_RESET,
                           .email = f->email,
                           .username = r.username,
                           .token = f->token};
    return request(o, &m, skipped, err);
}

int mail_events_apply(struct mail_outbox *o, const struct domain_event *e,
                      const struct event_changes *ch, int *skipped, struct err *err)
{
    if (e->kind == DOMAIN_ACCOUNT_CREATED || e->kind == DOMAIN_ACCOUNT_UPDATED ||
        e->kind == DOMAIN_PASSWORD_RESET_REQUESTED)
        return account(o, e, skipped, err);
    const struct domain_mail_fields *f = &e->mail;
    for (size_t i = 0; i < ch->ncreates; i++) {
        const struct notification_new *n = &ch->creates[i];
        enum mail_kind kind;
        if (n->type == NOTIFICATION_FOLLOW)
            kind = MAIL_FOLLOW;
        else if (n->type == NOTIFICATION_MENTION)
            kind = MAIL_MENTION;
        else if (n->type == NOTIFICATION_FAVOURITE)
            kind = MAIL_FAVOURITE;
        else
            continue; /* follow requests: no mail (not asked for) */
        struct mail_event m = {.event_id = e->id,
                               .recipient_id = n->recipient_id,
                               .kind = kind,
                               .actor_name = f->actor_display_name,
                               .actor_acct = or_empty(f->actor_username),
                               .actor_url = or_empty(f->actor_url),
                               .status_text = or_empty(f->status_text),
                               .status_url = or_empty(f->status_url)};
        int rc = request(o, &m, skipped, err);
        if (rc)
            return rc;
    }
    return 0;
}
