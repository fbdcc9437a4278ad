/* mailer_smtp.c - the mailer port over SMTP with libcurl's easy interface. The easy handle is
 * kept between messages, so libcurl keeps the connection (after EHLO, STARTTLS and AUTH) and
 * the next message starts at MAIL FROM. Replies are classified as RFC 5321 says: 4xx
 * transient, 5xx permanent; no reply at all (refused, reset, timeout) is transient. */
#include "services/notification/adapters/smtp/mailer_smtp.h"

#include "lib/base/xalloc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

struct mailer_smtp {
    CURL *curl;
    char *url, *user, *password;
    bool starttls;
    long timeout_ms;
    long connects;
    /* The message being sent, read by libcurl through read_cb. */
    const char *data;
    size_t len, off;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct mailer_smtp *s = arg;
    size_t room = size * nitems, left = s->len - s->off;
    size_t n = left < room ? left : room;
    memcpy(buf, s->data + s->off, n);
    s->off += n;
    return n;
}

/* Counts new connections: libcurl asks for a socket only when it opens one. */
static curl_socket_t open_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct mailer_smtp *s = arg;
    (void)purpose;
    s->connects++;
    return socket(addr->family, addr->socktype, addr->protocol);
}

/* The reply code in libcurl's message ("RCPT failed: 550"), when CURLINFO_RESPONSE_CODE has
 * none. */
static long code_in(const char *msg)
{
    for (const char *p = msg; *p; p++)
        if (p[0] >= '2' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
            p[2] <= '9' && (p == msg || p[-1] == ' ') && (p[3] == '\0' || p[3] == ' '))
            return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    return 0;
}

static int mailer_smtp_send(void *ctx, const char *from, const char *to, const char *data,
                            size_t len, struct err *err)
{
    struct mailer_smtp *s = ctx;
    char errbuf[CURL_ERROR_SIZE] = "", mail_from[300], rcpt_to[300];
    snprintf(mail_from, sizeof(mail_from), "<%s>", from);
    snprintf(rcpt_to, sizeof(rcpt_to), "<%s>", to);
    struct curl_slist *rcpt = curl_slist_append(NULL, rcpt_to);
    s->data = data;
    s->len = len;
    s->off = 0;
    curl_easy_setopt(s->curl, CURLOPT_MAIL_FROM, mail_from);
    curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(s->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(s->curl);
    long code = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, NULL);
    curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(rcpt);
    s->data = NULL;
    if (rc == CURLE_OK)
        return 0;
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (code < 400)
        code = code_in(why);
    if (code >= 500 && code < 600)
        return err_set(err, ERR_INVALID, "smtp %ld: %s", code, why);
    if (code >= 400)
        return err_set(err, ERR_UNAVAILABLE, "smtp %ld: %s", code, why);
    return err_set(err, ERR_UNAVAILABLE, "smtp: %s", why);
}

static void mailer_smtp_close(void *ctx)
{
    struct mailer_smtp *s = ctx;
    if (!s)
        return;
    curl_easy_cleanup(s->curl); /* sends QUIT on the open connection */
    free(s->url);
    free(s->user);
    free(s->password);
    free(s);
}

static const struct mailer_ops mailer_smtp_ops = {.send = mailer_smtp_send,
                                                  .close = mailer_smtp_close};

int mailer_smtp_open(const struct mailer_smtp_config *cfg, struct mailer *out, struct err *err)
{
    const char *url = cfg->url;
    bool smtps = url && strncmp(url, "smtps://", 8) == 0;
    if (!url || (!smtps && strncmp(url, "smtp://", 7) != 0))
        return err_set(err, ERR_INVALID,
                       "--smtp-url: '%s' is neither smtp://host[:port] nor "
                       "smtps://host[:port]",
                       url ? url : "");
    const char *host = url + (smtps ? 8 : 7);
    if (!*host || *host == '/' || strpbrk(host, " \r\n@?#"))
        return err_set(err, ERR_INVALID, "--smtp-url: '%s' has no usable host", url);
    if (smtps && cfg->starttls)
        return err_set(err, ERR_INVALID,
                       "--smtp-starttls is for smtp:// (smtps:// is TLS "
                       "from the start)");
    if (cfg->user && *cfg->user && !cfg->password)
        return err_set(err, ERR_INVALID, "--smtp-user is set but THREADLY_SMTP_PASSWORD is not");
    struct mailer_smtp *s = xcalloc(1, sizeof(*s));
    s->curl = curl_easy_init();
    if (!s->curl) {
        free(s);
        return err_set(err, ERR_INTERNAL, "curl_easy_init failed");
    }
    s->url = xstrdup(url);
    s->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
    CURL *c = s->curl;
    curl_easy_setopt(c, CURLOPT_URL, s->url);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, s);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_cb);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, s->timeout_ms < 10000 ? s->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_MAXCONNECTS, 1L);
    if (cfg->starttls)
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (cfg->user && *cfg->user) {
        s->user = xstrdup(cfg->user);
        s->password = xstrdup(cfg->password);
        curl_easy_setopt(c, CURLOPT_USERNAME, s->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, s->password);
    }
    *out = (struct mailer){&mailer_smtp_ops, s};
    return 0;
}

long mailer_smtp_connects(const struct mailer *m)
{
    ASSERT(m->ops == &mailer_smtp_ops);
    return ((const struct mailer_smtp *)m->ctx)->connects;
}
