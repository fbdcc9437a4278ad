/* mail_send.c - a tiny driver of the mail domain and the SMTP adapter for tests/mail and
 * bench/mail.sh: composes mails from the real templates and sends them through one
 * mailer_smtp instance, then prints one JSON line per message and a summary line.
 *   mail_send URL FROM KIND COUNT TO...   (each message goes to the next TO, round robin)
 * The template variables hold hostile text (markup, quotes, UTF-8) so the tests can check the
 * escaping of what arrives. */
#include "lib/base/clock.h"
#include "services/notification/adapters/smtp/mailer_smtp.h"
#include "services/notification/domain/mail.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: mail_send URL FROM KIND COUNT TO...\n");
        return 2;
    }
    enum mail_kind kind;
    if (!mail_kind_parse(argv[3], &kind)) {
        fprintf(stderr, "unknown kind %s\n", argv[3]);
        return 2;
    }
    long count = strtol(argv[4], NULL, 10);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct err err = {0};
    struct mailer m;
    struct mailer_smtp_config cfg = {.url = argv[1],
                                     .user = getenv("THREADLY_SMTP_USER"),
                                     .password = getenv("THREADLY_SMTP_PASSWORD"),
                                     .timeout_ms = 5000};
    if (mailer_smtp_open(&cfg, &m, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    const struct mail_var vars[] = {
        {"instance", "Threadly"},
        {"username", "zoë"},
        {"link", "http://threadly.test/auth/confirm?token=abc&x=<y>"},
        {"ttl_hours", "24"},
        {"actor", "Zoë <script>alert(1)</script> & \"Co\""},
        {"actor_acct", "zoe"},
        {"actor_url", "http://threadly.test/@zoe"},
        {"status_text", "Hello <b>@you</b> & friends\n.a line starting with a dot\nFrom here"},
        {"status_url", "http://threadly.test/@zoe/1"},
        {"unsubscribe_url", "http://threadly.test/mail/unsubscribe?token=tok&kind=follow"},
        {"count", "3"},
        {"what", "followers"},
        {"names", "Zoë <i>x</i>, bob"},
        {"notifications_url", "http://threadly.test/notifications"},
        {"kind", "follow"},
        {"window_minutes", "60"},
    };
    long sent = 0, transient = 0, permanent = 0;
    int64_t t0 = clock_now_ms(&clock_system);
    for (long i = 0; i < count; i++) {
        struct arena a;
        struct mail_parts parts;
        struct buf data = BUF_INIT;
        arena_init(&a, 0);
        const char *to = argv[5 + i % (argc - 5)];
        char mid[96];
        snprintf(mid, sizeof(mid), "<%lld.%ld@threadly.test>", (long long)t0, i);
        int rc = mail_compose(&mail_templates[kind], vars, sizeof(vars) / sizeof(vars[0]), &a,
                              &parts, &err);
        if (rc == 0) {
            struct mail_message msg = {.from = argv[2],
                                       .to = to,
                                       .subject = parts.subject,
                                       .text = parts.text,
                                       .html = parts.html,
                                       .message_id = mid,
                                       .boundary = "=_threadly_b0undary",
                                       .date_ms = clock_now_ms(&clock_system),
                                       .unsubscribe_url = mail_kind_is_notification(kind)
                                                              ? "http://threadly.test/mail/"
                                                                "unsubscribe?token=tok"
                                                              : NULL};
            rc = mail_format(&msg, &data, &err);
        }
        char from[256];
        if (rc == 0 && !mail_address_of(argv[2], from, sizeof(from)))
            rc = err_set(&err, ERR_INVALID, "bad FROM");
        if (rc == 0)
            rc = mailer_send(&m, from, to, data.data, data.len, &err);
        if (rc == 0)
            sent++;
        else if (rc == ERR_UNAVAILABLE)
            transient++;
        else
            permanent++;
        if (count <= 100) {
            struct buf line = BUF_INIT;
            buf_appendf(&line, "{\"to\":\"%s\",\"result\":\"%s\",\"error\":", to,
                        rc == 0                 ? "sent"
                        : rc == ERR_UNAVAILABLE ? "transient"
                                                : "permanent");
            buf_append_json_str(&line, rc ? err.msg : "", rc ? strlen(err.msg) : 0);
            buf_append_str(&line, "}\n");
            fputs(line.data, stdout);
            buf_release(&line);
        }
        buf_release(&data);
        arena_release(&a);
    }
    int64_t ms = clock_now_ms(&clock_system) - t0;
    printf("{\"sent\":%ld,\"transient\":%ld,\"permanent\":%ld,\"connects\":%ld,\"ms\":%lld}\n",
           sent, transient, permanent, mailer_smtp_connects(&m), (long long)ms);
    mailer_close(&m);
    curl_global_cleanup();
    return 0;
}
