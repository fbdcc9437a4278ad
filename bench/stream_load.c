/* stream_load.c - load client for bench/streaming.sh: opens N WebSocket connections to
 * /api/v1/streaming?stream=public (one thread, epoll, non-blocking), then runs ROUNDS fan-outs:
 * POST /test/publish (stream_testd's test route) and time until every connection has the frame.
 * Prints key=value lines, including the server's VmRSS (it runs on the same machine) with the
 * N connections held and after the fan-outs. Plain libc; not a product binary.
 * Usage: stream_load PORT SERVER_PID N ROUNDS PAYLOAD_BYTES */
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
    int round; /* rounds whose frame arrived */
    size_t hlen;
    uint64_t need;   /* bytes of the current frame payload still to skip */
    uint8_t hdr[14]; /* a frame header being read */
    char resp[512];  /* the 101 being read */
};

static int port;
static int ep;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
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
    static const char req[] = "GET /api/v1/streaming?stream=public HTTP/1.1\r\n"
                              "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";
    if (send(c->fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1)
        c->state = -1;
    else
        c->state = 1;
}

/* Reads frames; counts text frames (each one is a round's event). Pings are ignored: the
 * bench runs with a heartbeat longer than itself. */
static void on_data(struct conn *c, const uint8_t *p, size_t n)
{
    while (n) {
        if (c->need) {
            size_t k = n < c->need ? n : (size_t)c->need;
            c->need -= k;
            p += k;
            n -= k;
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
        if ((c->hdr[0] & 0x0f) == 0x1)
            c->round++;
        c->need = len;
        c->hlen = 0;
    }
}

static int open_count;

static void on_event(struct conn *c, uint32_t ev)
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
            size_t room = sizeof(c->resp) - 1 - have;
            memcpy(c->resp + have, buf, k < room ? k : room);
            c->resp[have + (k < room ? k : room)] = '\0';
            char *end = strstr(c->resp, "\r\n\r\n");
            if (!end)
                continue;
            if (strncmp(c->resp, "HTTP/1.1 101", 12) != 0) {
                c->state = -1;
                return;
            }
            c->state = 2;
            open_count++;
            size_t used = (size_t)(end + 4 - c->resp) - have;
            if (used < k)
                on_data(c, buf + used, k - used);
            continue;
        }
        on_data(c, buf, (size_t)r);
    }
}

static void pump(struct epoll_event *evs, int timeout_ms)
{
    int n = epoll_wait(ep, evs, 1024, timeout_ms);
    for (int i = 0; i < n; i++)
        on_event(evs[i].data.ptr, evs[i].events);
}

static int publish(int round, size_t payload_bytes)
{
    char *payload = malloc(payload_bytes + 64);
    int n =
        snprintf(payload, 64, "stream=public&event=update&payload={\"round\":%d,\"x\":\"", round);
    memset(payload + n, 'x', payload_bytes);
    strcpy(payload + n + payload_bytes, "\"}");
    size_t body = strlen(payload);
    char head[256];
    int hn = snprintf(head, sizeof(head),
                      "POST /test/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "Content-Type: application/x-www-form-urlencoded\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      body);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
             send(fd, head, (size_t)hn, 0) == hn && send(fd, payload, body, 0) == (ssize_t)body;
    char resp[256] = {0};
    if (ok)
        ok = recv(fd, resp, sizeof(resp) - 1, 0) > 12 && strncmp(resp, "HTTP/1.1 200", 12) == 0;
    close(fd);
    free(payload);
    return ok ? 0 : -1;
}

static double rss_mb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    double mb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            mb = atof(line + 6) / 1024;
    if (f)
        fclose(f);
    return mb;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s PORT SERVER_PID N ROUNDS PAYLOAD_BYTES\n", argv[0]);
        return 2;
    }
    port = atoi(argv[1]);
    int pid = atoi(argv[2]), n = atoi(argv[3]), rounds = atoi(argv[4]);
    size_t payload = (size_t)atol(argv[5]);
    struct conn *cs = calloc((size_t)n, sizeof(*cs));
    struct epoll_event evs[1024];
    ep = epoll_create1(0);
    double t0 = now();
    int started = 0, batch = 256;
    while (open_count < n && now() - t0 < 120) {
        /* Keep at most `batch` handshakes in flight (the listen backlog is finite). */
        int inflight = 0;
        for (int i = 0; i < started; i++)
            inflight += cs[i].state == 0 || cs[i].state == 1;
        while (started < n && inflight < batch) {
            struct conn *c = &cs[started++];
            c->fd = dial();
            if (c->fd < 0) {
                c->state = -1;
                fprintf(stderr, "socket: %s\n", strerror(errno));
                break;
            }
            struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
            inflight++;
        }
        pump(evs, 10);
        int dead = 0;
        for (int i = 0; i < started; i++)
            dead += cs[i].state == -1;
        if (started == n && open_count + dead == n)
            break;
    }
    double connect_s = now() - t0;
    printf("connected=%d\nconnect_seconds=%.2f\n", open_count, connect_s);
    fflush(stdout);
    if (open_count < n)
        return 1;
    double settle = now();
    while (now() - settle < 2)
        pump(evs, 100);
    printf("rss_held_mb=%.1f\n", rss_mb(pid));
    fflush(stdout);
    double *times = calloc((size_t)rounds, sizeof(double));
    for (int r = 0; r < rounds; r++) {
        double start = now();
        if (publish(r, payload) != 0) {
            fprintf(stderr, "publish failed\n");
            return 1;
        }
        int done = 0;
        while (now() - start < 30) {
            done = 0;
            for (int i = 0; i < n; i++)
                done += cs[i].round > r;
            if (done == n)
                break;
            pump(evs, 5);
        }
        times[r] = now() - start;
        if (done < n) {
            fprintf(stderr, "round %d: only %d of %d got the frame\n", r, done, n);
            return 1;
        }
        printf("round_%d_ms=%.1f\n", r, times[r] * 1000);
        fflush(stdout);
    }
    qsort(times, (size_t)rounds, sizeof(double), cmp_double);
    printf("fanout_median_ms=%.1f\nfanout_max_ms=%.1f\nstill_open=%d\nrss_after_mb=%.1f\n",
           times[rounds / 2] * 1000, times[rounds - 1] * 1000, open_count, rss_mb(pid));
    return 0;
}
