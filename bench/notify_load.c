/* notify_load.c - load client for bench/notify_latency.sh, against the real threadly-service and
 * notification-service (plain libc, one thread, epoll; not a product binary). Two modes:
 *
 *   notify_load latency CORE_PORT NOTIF_PORT LISTENER_TOKEN ACTOR_TOKEN STATUS_ID EVENTS
 *     The listener holds one WebSocket on /api/v1/streaming?stream=user; EVENTS times the actor
 *     POSTs /api/v1/statuses/STATUS_ID/favourite (keep-alive connection) and the time from the
 *     response being read to the `notification` frame being read is recorded; then it
 *     unfavourites (which streams nothing) so the next favourite is a new event.
 *
 *   notify_load fanout CORE_PORT NOTIF_PORT TOKENS_FILE AUTHOR_TOKEN ROUNDS
 *     One WebSocket per token of TOKENS_FILE (one a line: the author's followers), then ROUNDS
 *     times the author POSTs a public status; the time from the response to the last
 *     follower's `update` frame is recorded.
 *
 * Prints key=value lines. A frame read in the same wake-up as an earlier one is stamped with
 * that wake-up's time. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    int state; /* 0 connecting, 1 handshake sent, 2 open, -1 dead */
    const char *token;
    int updates, notifications; /* text frames seen, by event */
    double last_at;             /* when the last counted frame was read */
    size_t hlen, plen;
    uint64_t need;   /* bytes of the current frame payload still to read */
    uint8_t hdr[14]; /* a frame header being read */
    char pre[64];    /* the start of a text frame's payload (holds the event name) */
    int text;
    char resp[1024]; /* the 101 being read */
};

static int notif_port;
static int ep;
static int open_count;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int dial(int port, int nonblock)
{
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_handshake(struct conn *c)
{
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "GET /api/v1/streaming?stream=user HTTP/1.1\r\n"
                     "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Authorization: Bearer %s\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     c->token);
    c->state = send(c->fd, req, (size_t)n, MSG_NOSIGNAL) == n ? 1 : -1;
}

/* The end of a text frame: counts it by its event. */
static void frame_done(struct conn *c, double at)
{
    c->pre[c->plen] = '\0';
    if (strstr(c->pre, "\"event\":\"update\"")) {
        c->updates++;
        c->last_at = at;
    } else if (strstr(c->pre, "\"event\":\"notification\"")) {
        c->notifications++;
        c->last_at = at;
    }
}

static void on_data(struct conn *c, const uint8_t *p, size_t n, double at)
{
    while (n) {
        if (c->need) {
            size_t k = n < c->need ? n : (size_t)c->need;
            if (c->text && c->plen < sizeof(c->pre) - 1) {
                size_t room = sizeof(c->pre) - 1 - c->plen, m = k < room ? k : room;
                memcpy(c->pre + c->plen, p, m);
                c->plen += m;
            }
            c->need -= k;
            p += k;
            n -= k;
            if (!c->need && c->text)
                frame_done(c, at);
            continue;
        }
        c->hdr[c->hlen++] = *p++;
        n--;
        size_t want = 2;
        if (c->hlen >= 2) {
            unsigned len7 = c->hdr[1] & 0x7f;
            want = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
        }
        if (c->hlen < want)
            continue;
        unsigned len7 = c->hdr[1] & 0x7f;
        uint64_t len = len7;
        if (len7 == 126)
            len = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
        else if (len7 == 127)
            for (int i = 0; i < 8; i++)
                len = len << 8 | c->hdr[2 + i];
        c->text = (c->hdr[0] & 0x0f) == 0x1;
        c->plen = 0;
        c->need = len;
        c->hlen = 0;
        if (!len && c->text)
            frame_done(c, at);
    }
}

static void on_event(struct conn *c, uint32_t ev, double at)
{
    if (c->state == 0) {
        int err = 0;
        socklen_t l = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            c->state = -1;
            return;
        }
        send_handshake(c);
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        return;
    }
    if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    uint8_t buf[65536];
    for (;;) {
        ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            if (c->state == 2)
                open_count--;
            c->state = -1;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            return;
        }
        if (r < 0)
            return;
        if (c->state == 1) {
            size_t have = strlen(c->resp), k = (size_t)r;
            size_t room = sizeof(c->resp) - 1 - have, m = k < room ? k : room;
            memcpy(c->resp + have, buf, m);
            c->resp[have + m] = '\0';
            char *end = strstr(c->resp, "\r\n\r\n");
            if (!end)
                continue;
            if (strncmp(c->resp, "HTTP/1.1 101", 12) != 0) {
                fprintf(stderr, "handshake refused: %.40s\n", c->resp);
                c->state = -1;
                return;
            }
            c->state = 2;
            open_count++;
            size_t used = (size_t)(end + 4 - c->resp) - have;
            if (used < k)
                on_data(c, buf + used, k - used, at);
            continue;
        }
        on_data(c, buf, (size_t)r, at);
    }
}

static void pump(int timeout_ms)
{
    struct epoll_event evs[1024];
    int n = epoll_wait(ep, evs, 1024, timeout_ms);
    double at = now();
    for (int i = 0; i < n; i++)
        on_event(evs[i].data.ptr, evs[i].events, at);
}

/* Opens conns[0..n) (at most 256 handshakes in flight); returns how many opened. */
static int open_all(struct conn *cs, int n)
{
    double t0 = now();
    int started = 0;
    while (now() - t0 < 300) {
        int inflight = 0, dead = 0;
        for (int i = 0; i < started; i++) {
            inflight += cs[i].state == 0 || cs[i].state == 1;
            dead += cs[i].state == -1;
        }
        if (started == n && open_count + dead == n)
            break;
        while (started < n && inflight < 256) {
            struct conn *c = &cs[started++];
            c->fd = dial(notif_port, 1);
            if (c->fd < 0) {
                c->state = -1;
                fprintf(stderr, "socket: %s\n", strerror(errno));
                continue;
            }
            struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
            inflight++;
        }
        pump(10);
    }
    return open_count;
}

/* One request on the keep-alive connection *fd (reconnected when needed); reads the whole
 * response. Returns the HTTP status, or -1. */
static int http(int port, int *fd, const char *method, const char *path, const char *token,
                const char *body)
{
    char req[4096];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, token, blen, body ? body : "");
    for (int attempt = 0; attempt < 2; attempt++) {
        if (*fd < 0)
            *fd = dial(port, 0);
        if (*fd < 0)
            return -1;
        if (send(*fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
            close(*fd);
            *fd = -1;
            continue;
        }
        static char resp[1 << 20];
        size_t have = 0;
        long clen = -1;
        char *hend = NULL;
        for (;;) {
            ssize_t r = recv(*fd, resp + have, sizeof(resp) - 1 - have, 0);
            if (r <= 0)
                break;
            have += (size_t)r;
            resp[have] = '\0';
            if (!hend && (hend = strstr(resp, "\r\n\r\n"))) {
                char *cl = strcasestr(resp, "\r\nContent-Length:");
                clen = cl && cl < hend ? atol(cl + 17) : 0;
            }
            if (hend && (long)(have - (size_t)(hend + 4 - resp)) >= clen)
                return atoi(resp + 9);
        }
        close(*fd);
        *fd = -1;
        if (have)
            return -1;
    }
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *sorted, int n, double p)
{
    int i = (int)(p * (n - 1) + 0.5);
    return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static int latency(int core_port, const char *listener, const char *actor, const char *status,
                   int events)
{
    struct conn c = {.token = listener};
    if (open_all(&c, 1) != 1)
        return 1;
    double settle = now();
    while (now() - settle < 0.5)
        pump(50);
    int fd = -1;
    char fav[256], unfav[256];
    snprintf(fav, sizeof(fav), "/api/v1/statuses/%s/favourite", status);
    snprintf(unfav, sizeof(unfav), "/api/v1/statuses/%s/unfavourite", status);
    double *lat = calloc((size_t)events, sizeof(double)), t_start = now();
    for (int i = 0; i < events; i++) {
        int before = c.notifications;
        int st = http(core_port, &fd, "POST", fav, actor, NULL);
        double returned = now();
        if (st != 200) {
            fprintf(stderr, "favourite %d: HTTP %d\n", i, st);
            return 1;
        }
        while (c.notifications == before && now() - returned < 10 && c.state == 2)
            pump(100);
        if (c.notifications == before) {
            fprintf(stderr, "event %d: no notification frame within 10 s\n", i);
            return 1;
        }
        lat[i] = c.last_at - returned;
        if (http(core_port, &fd, "POST", unfav, actor, NULL) != 200) {
            fprintf(stderr, "unfavourite %d failed\n", i);
            return 1;
        }
    }
    double total = now() - t_start, sum = 0;
    for (int i = 0; i < events; i++)
        sum += lat[i];
    qsort(lat, (size_t)events, sizeof(double), cmp_double);
    printf("events=%d\nseconds=%.1f\np50_ms=%.2f\np90_ms=%.2f\np99_ms=%.2f\nmax_ms=%.2f\n"
           "mean_ms=%.2f\n",
           events, total, pct(lat, events, 0.5) * 1000, pct(lat, events, 0.9) * 1000,
           pct(lat, events, 0.99) * 1000, lat[events - 1] * 1000, sum / events * 1000);
    return 0;
}

static int fanout(int core_port, const char *tokens_file, const char *author, int rounds)
{
    FILE *f = fopen(tokens_file, "r");
    if (!f)
        return 1;
    int cap = 1024, n = 0;
    struct conn *cs = calloc((size_t)cap, sizeof(*cs));
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line)
            continue;
        if (n == cap) {
            cs = realloc(cs, (size_t)(cap *= 2) * sizeof(*cs));
            memset(cs + n, 0, (size_t)(cap - n) * sizeof(*cs));
        }
        cs[n++].token = strdup(line);
    }
    fclose(f);
    double t0 = now();
    int opened = open_all(cs, n);
    printf("followers=%d\nconnected=%d\nconnect_seconds=%.2f\n", n, opened, now() - t0);
    fflush(stdout);
    if (opened < n)
        return 1;
    double settle = now();
    while (now() - settle < 1)
        pump(100);
    int fd = -1;
    double *times = calloc((size_t)rounds, sizeof(double));
    for (int r = 0; r < rounds; r++) {
        char body[128];
        snprintf(body, sizeof(body), "status=fan-out+round+%d&visibility=public", r);
        int st = http(core_port, &fd, "POST", "/api/v1/statuses", author, body);
        double returned = now();
        if (st != 200) {
            fprintf(stderr, "post %d: HTTP %d\n", r, st);
            return 1;
        }
        int done = 0;
        while (now() - returned < 60) {
            done = 0;
            for (int i = 0; i < n; i++)
                done += cs[i].updates > r;
            if (done == n)
                break;
            pump(5);
        }
        if (done < n) {
            fprintf(stderr, "round %d: only %d of %d got the update\n", r, done, n);
            return 1;
        }
        double last = 0;
        for (int i = 0; i < n; i++)
            if (cs[i].last_at > last)
                last = cs[i].last_at;
        times[r] = last - returned;
        printf("round_%d_ms=%.1f\n", r, times[r] * 1000);
        fflush(stdout);
    }
    qsort(times, (size_t)rounds, sizeof(double), cmp_double);
    printf("fanout_median_ms=%.1f\nfanout_max_ms=%.1f\nstill_open=%d\n", times[rounds / 2] * 1000,
           times[rounds - 1] * 1000, open_count);
    return 0;
}

int main(int argc, char **argv)
{
    ep = epoll_create1(0);
    if (argc == 8 && strcmp(argv[1], "latency") == 0) {
        notif_port = atoi(argv[3]);
        return latency(atoi(argv[2]), argv[4], argv[5], argv[6], atoi(argv[7]));
    }
    if (argc == 7 && strcmp(argv[1], "fanout") == 0) {
        notif_port = atoi(argv[3]);
        return fanout(atoi(argv[2]), argv[4], argv[5], atoi(argv[6]));
    }
    fprintf(stderr,
            "usage: %s latency CORE_PORT NOTIF_PORT LISTENER_TOKEN ACTOR_TOKEN STATUS_ID EVENTS\n"
            "       %s fanout CORE_PORT NOTIF_PORT TOKENS_FILE AUTHOR_TOKEN ROUNDS\n",
            argv[0], argv[0]);
    return 2;
}
