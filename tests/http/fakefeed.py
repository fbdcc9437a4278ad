"""fakefeed.py - a stand-in for threadly-service's outbox feed (docs/events.md, "The embedded
transport"): GET /internal/v1/events?after=&limit=&wait= over events the test publishes, so
notification-service's consumer can be tested with crafted, broken and unknown events before
and apart from the real producer. Stdlib only."""
import http.server
import json
import socketserver
import threading
import time
import urllib.parse


class FakeFeed:
    """GET /internal/v1/events?after=&limit=&wait= over rows published by the test."""

    def __init__(self, port=0):
        self.rows = []  # (seq, event): event is a JSON value or RawText
        self.cond = threading.Condition()
        self.afters = []
        self.secrets = set()
        self.override = None  # bytes: answer this page instead (a broken feed)
        feed = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(u.query)
                if u.path != "/internal/v1/events":
                    return self.send(404, b'{"error":"Not found"}')
                try:
                    after, limit, wait = (int(q[k][0]) for k in ("after", "limit", "wait"))
                except (KeyError, ValueError):
                    return self.send(400, b'{"error":"bad parameters"}')
                feed.secrets.add(self.headers.get("X-Threadly-Internal-Secret"))
                deadline = time.time() + min(wait, 1)
                with feed.cond:
                    feed.afters.append(after)
                    feed.cond.notify_all()
                    while not [r for r in feed.rows if r[0] > after] and time.time() < deadline:
                        feed.cond.wait(deadline - time.time())
                    rows = [r for r in feed.rows if r[0] > after][:limit]
                    head = feed.rows[-1][0] if feed.rows else 0
                    override = feed.override
                if override is not None:
                    return self.send(200, override)
                events = []
                for seq, ev in rows:
                    events.append('{"seq":"%d","event":%s}' % (seq, ev if isinstance(ev, RawText)
                                                                else json.dumps(ev)))
                body = '{"events":[%s],"last_seq":"%d","head_seq":"%d"}' % (
                    ",".join(events), rows[-1][0] if rows else after, head)
                self.send(200, body.encode())

            def send(self, code, body):
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the consumer gave up on a long poll (it is stopping)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self):
        return "http://127.0.0.1:%d/internal/v1/events" % self.port

    def publish(self, *events):
        with self.cond:
            for ev in events:
                seq = (self.rows[-1][0] if self.rows else 0) + 1
                self.rows.append((seq, ev))
            self.cond.notify_all()
            return self.rows[-1][0]

    def wait_consumed(self, seq, timeout=10):
        """Waits until the consumer asked for rows after seq (so it stored its cursor)."""
        deadline = time.time() + timeout
        with self.cond:
            while not any(a >= seq for a in self.afters):
                if time.time() > deadline:
                    raise AssertionError("the consumer did not get past seq %d (asked %s)"
                                         % (seq, self.afters[-5:]))
                self.cond.wait(0.2)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class RawText(str):
    """An event sent as this exact JSON text in the feed page."""


_ids = [int(time.time() * 1000) << 22]


def next_id():
    _ids[0] += 1
    return str(_ids[0])


def envelope(type_, key, data, version=1):
    return {"id": next_id(), "type": type_, "version": version,
            "occurred_at": "2026-11-24T01:02:03.000Z", "producer": "threadly-service",
            "key": key, "data": data}
