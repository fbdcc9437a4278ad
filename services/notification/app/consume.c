/* consume.c - the consumer's use case: envelopes in, one transaction out. */
#include "services/notification/app/consume.h"

#include "lib/base/arena.h"
#include "lib/base/buf.h"
#include "lib/events/event.h"
#include "services/notification/app/live.h"
#include "services/notification/app/mail_events.h"

#include <string.h>

#define DEAD_TEXT_MAX (64 * 1024)

/* The message as text a database takes: itself when it is valid UTF-8 without NUL, else with
 * every byte outside printable ASCII written as \xNN; cut at DEAD_TEXT_MAX bytes. */
static const char *dead_text(const char *s, size_t n, struct arena *a, size_t *len)
{
    if (n > DEAD_TEXT_MAX)
        n = DEAD_TEXT_MAX;
    if (utf8_valid(s, n) && !memchr(s, '\0', n)) {
        *len = n;
        return arena_strndup(a, s, n);
    }
    static const char hex[] = "0123456789abcdef";
    char *out = arena_alloc(a, n * 4 + 1), *p = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            *p++ = (char)c;
        } else {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = '\0';
    *len = (size_t)(p - out);
    return out;
}

/* Makes it a dead letter for msg with reason. */
static void dead(struct notif_core *c, struct batch_item *it, const struct inbound_message *msg,
                 uint64_t event_id, const char *reason, struct arena *a)
{
    memset(it, 0, sizeof(*it));
    it->event_id = event_id;
    it->dead_id = idgen_next(c->ids);
    it->dead_text = dead_text(msg->text, msg->len, a, &it->dead_len);
    size_t len;
    it->dead_reason = dead_text(reason, strlen(reason), a, &len);
}

static void log_dead(struct notif_core *c, const struct inbound_message *m,
                     const struct batch_item *it)
{
    if (!c->log)
        return;
    struct log_line l;
    log_begin(c->log, &l, LOG_WARN, NULL, "event dead-lettered");
    log_int(&l, "position", m->position);
    log_str(&l, "reason", it->dead_reason);
    log_end(c->log, &l);
}

/* Turns msg into items[i]: an event with its changes, or a dead letter, with what the live
 * streams need after the commit in *li; and queues the mails the event asks for. Returns 0, or
 * the mail store's error (then nothing of the batch may be stored: the transport gives it
 * again, and the mail outbox deduplicates). */
static int prepare(struct notif_core *c, const struct inbound_message *m, struct arena *a,
                   struct batch_item *it, struct live_item *li, struct err *merr)
{
    struct event e;
    struct domain_event de;
    struct err err = {0};
    memset(it, 0, sizeof(*it));
    /* One parse of the text: the envelope and its data (e.id is 0 when the envelope is bad). */
    int rc = event_decoder_parse(&c->decoder, m->text, m->len, a, &e, &de, &err);
    if (rc != 0) {
        dead(c, it, m, e.id, err.msg, a);
        return 0;
    }
    struct event_changes *ch = arena_alloc(a, sizeof(*ch));
    rules_apply(&de, a, ch);
    uint64_t *ids = arena_calloc(a, ch->ncreates + 1, sizeof(*ids));
    for (size_t i = 0; i < ch->ncreates; i++)
        ids[i] = idgen_next(c->ids);
    it->event_id = e.id;
    it->changes = ch;
    it->notification_ids = ids;
    it->occurred_at_ms = e.occurred_at;
    it->duplicate = &li->duplicate;
    struct domain_event *copy = arena_alloc(a, sizeof(*copy));
    *copy = de;
    li->item = it;
    li->event = copy;
    if (!c->mail)
        return 0;
    int skipped = 0;
    rc = mail_events_apply(c->mail, &de, ch, &skipped, merr);
    if (skipped && c->log)
        log_printf(c->log, LOG_WARN, NULL, "event %llu: %d mail(s) skipped (bad address)",
                   (unsigned long long)e.id, skipped);
    return rc;
}

static void add_stats(struct consume_stats *st, const struct batch_result *r, size_t events)
{
    if (!st)
        return;
    st->events += events;
    st->created += r->created;
    st->removed += r->removed;
    st->duplicates += r->duplicates;
    st->dead += r->dead;
}

/* The fallback after a batch the store refused for good: one transaction per message. */
static int one_by_one(struct notif_core *c, const char *source, const struct inbound_message *m,
                      struct batch_item *items, size_t n, struct arena *a, struct consume_stats *st,
                      struct err *err)
{
    for (size_t i = 0; i < n; i++) {
        struct consumer_cursor cur = {source, m[i].position};
        const struct consumer_cursor *curp = source ? &cur : NULL;
        struct batch_result r = {0};
        int64_t now = clock_now_ms(c->clock);
        int rc = notification_store_apply_batch(&c->store, &items[i], 1, curp, now, &r, err);
        if (rc == ERR_UNAVAILABLE)
            return rc;
        if (rc != 0) {
            char reason[300];
            memcpy(reason, "store: ", 7);
            memcpy(reason + 7, err->msg, strlen(err->msg) + 1);
            dead(c, &items[i], &m[i], items[i].event_id, reason, a);
            log_dead(c, &m[i], &items[i]);
            memset(&r, 0, sizeof(r));
            rc = notification_store_apply_batch(&c->store, &items[i], 1, curp, now, &r, err);
            if (rc != 0)
                return rc;
        }
        add_stats(st, &r, items[i].changes ? 1 : 0);
    }
    return 0;
}

int consume_batch(struct notif_core *c, const char *source, const struct inbound_message *msgs,
                  size_t n, int64_t position, struct consume_stats *st, struct err *err)
{
    struct arena a;
    arena_init(&a, 16384);
    struct batch_item *items = arena_calloc(&a, n + 1, sizeof(*items));
    struct live_item *live = arena_calloc(&a, n + 1, sizeof(*live));
    size_t events = 0;
    for (size_t i = 0; i < n; i++) {
        int mrc = prepare(c, &msgs[i], &a, &items[i], &live[i], err);
        if (mrc) {
            /* Retried as a whole later: a mail store that fails is taken as unavailable. */
            char why[sizeof(err->msg)];
            memcpy(why, err->msg, sizeof(why));
            arena_release(&a);
            return err_set(err, ERR_UNAVAILABLE, "mail: %s", why);
        }
        if (items[i].changes)
            events++;
        else
            log_dead(c, &msgs[i], &items[i]);
    }
    struct consumer_cursor cur = {source, position};
    const struct consumer_cursor *curp = source ? &cur : NULL;
    struct batch_result r = {0};
    int rc =
        notification_store_apply_batch(&c->store, items, n, curp, clock_now_ms(c->clock), &r, err);
    if (rc == 0) {
        add_stats(st, &r, events);
    } else if (rc != ERR_UNAVAILABLE && n > 0) {
        rc = one_by_one(c, source, msgs, items, n, &a, st, err);
        /* The batch's position may lie past its last message (the feed's last_seq). */
        if (rc == 0 && source)
            rc = notification_store_apply_batch(&c->store, NULL, 0, &cur, clock_now_ms(c->clock),
                                                NULL, err);
    }
    /* Only now, with everything committed: a client never hears of what a crash undoes. */
    if (rc == 0)
        live_publish(c, live, n, &a);
    arena_release(&a);
    return rc;
}

int consume_cursor(struct notif_core *c, const char *source, int64_t *out, struct err *err)
{
    return notification_store_cursor_get(&c->store, source, out, err);
}
