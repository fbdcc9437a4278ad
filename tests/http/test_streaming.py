"""test_streaming.py - lib/http's streaming hub (WebSocket and SSE) over real sockets, through
the stream_testd test server (fake auth: token "tok-<id>" is account <id>; POST /test/publish).
Clients: the `websockets` package (Debian's, under /usr/bin/python3), raw sockets for what a
polite client library would not do (never read, never answer pings, reset), and http.client for
SSE."""
import asyncio
import base64
import hashlib
import http.client
import json
import os
import re
import socket
import struct
import threading
import time
import unittest
import urllib.parse

import websockets

import harness
from harness import Service, raw

TESTD = os.environ["THREADLY_STREAM_TESTD"]
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def publish(svc, stream, event, payload, account=0, **extra):
    body = urllib.parse.urlencode(dict(stream=stream, event=event, account=account,
                                       **({"payload": payload} if payload is not None else {}),
                                       **extra))
    r, j = svc.json("POST", "/test/publish", body,
                    {"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200, (r.status, j)
    return j


def metric(svc, name, labels=""):
    r, data = svc.request("GET", "/metrics")
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)), data.decode(),
                  re.M)
    return float(m.group(1)) if m else None


def open_count(svc):
    return svc.json("GET", "/test/connections")[1]["open"]


def wait_until(pred, timeout=5.0, step=0.05):
    """harness.wait_until with a 5 s default."""
    return harness.wait_until(pred, timeout, step)


def stop_clean(testcase, svc):
    """SIGTERM must end the server quickly and cleanly (and, in the ASan build, leak-free)."""
    t0 = time.time()
    rc = svc.terminate(timeout=15)
    testcase.assertEqual(rc, 0, svc.log_text()[-3000:])
    testcase.assertLess(time.time() - t0, 5)
    testcase.assertNotIn("Sanitizer", svc.log_text())
    testcase.assertNotIn("runtime error", svc.log_text())


# ---- SSE over http.client ----

class SSE:
    def __init__(self, svc, path, headers=None, timeout=5):
        self.conn = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=timeout)
        self.conn.request("GET", path, headers=headers or {})
        self.resp = self.conn.getresponse()

    def line(self):
        raw = self.resp.readline()
        if not raw:
            raise EOFError("stream ended")
        return raw.decode().rstrip("\n")

    def next(self, comments=False):
        """The next event as (event, data), or ("comment", text) when comments is set."""
        event, data = None, []
        while True:
            line = self.line()
            if line.startswith(":"):
                if comments:
                    return "comment", line[1:]
                continue
            if line == "":
                if event is not None or data:
                    return event, "\n".join(data)
                continue
            field, _, value = line.partition(": ")
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)

    def close(self):
        self.conn.close()


# ---- raw WebSocket client (for misbehaving peers) ----

def ws_frame(opcode, payload, fin=True):
    """One masked client frame (RFC 6455 5.2)."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class RawWS:
    def __init__(self, port, path="/api/v1/streaming", headers=None, rcvbuf=None):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        hdrs = {"Host": "127.0.0.1", "Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13", **(headers or {})}
        req = "GET %s HTTP/1.1\r\n%s\r\n" % (path, "".join("%s: %s\r\n" % kv for kv in hdrs.items()))
        self.sock.sendall(req.encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            buf += chunk
        head, _, self.buf = buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v for k, _, v in (l.partition(": ") for l in lines[1:])}
        self.expected_accept = base64.b64encode(
            hashlib.sha1((key + WS_GUID).encode()).digest()).decode()

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self):
        b0, b1 = self._need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._need(8))[0]
        return b0 & 0x0F, self._need(n), bool(b0 & 0x80)

    def send_frame(self, opcode, payload, fin=True):
        self.sock.sendall(ws_frame(opcode, payload, fin))

    def reset(self):
        """Closes with a TCP reset, as a crashed client or a dropped network would."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        self.sock.close()


def ws_url(svc, path="/api/v1/streaming"):
    return "ws://127.0.0.1:%d%s" % (svc.port, path)


async def recv_json(ws, timeout=5):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def apublish(svc, *args, **kw):
    return await asyncio.to_thread(publish, svc, *args, **kw)


class AsyncCase(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        # The tests make blocking HTTP calls on purpose; don't report them as slow callbacks.
        asyncio.get_running_loop().slow_callback_duration = 30


class StreamingTest(AsyncCase):
    """One server with roomy limits and a slow heartbeat, shared by the protocol tests."""

    @classmethod
    def setUpClass(cls):
        cls.svc = Service(TESTD, "--stream-heartbeat-ms", "60000")

    @classmethod
    def tearDownClass(cls):
        stop_clean(unittest.TestCase(), cls.svc)

    def test_health(self):
        for path in ("/api/v1/streaming/health", "/api/v1/streaming/health/"):
            r, data = self.svc.request("GET", path)
            self.assertEqual(r.status, 200)
            self.assertEqual(data, b"OK")
            self.assertTrue(r.getheader("Content-Type").startswith("text/plain"))

    async def test_subscribe_unsubscribe_and_frame_shape(self):
        async with websockets.connect(ws_url(self.svc),
                                      extra_headers={"Authorization": "Bearer tok-11"}) as ws:
            await ws.send(json.dumps({"type": "subscribe", "stream": "user"}))
            await ws.send(json.dumps({"type": "subscribe", "stream": "public"}))
            await asyncio.sleep(0.1)
            note = json.dumps({"id": "7", "type": "mention", "text": "a \"quoted\" é\n"})
            await apublish(self.svc, "user", "notification", note, account=11)
            raw = await asyncio.wait_for(ws.recv(), 5)
            self.assertIsInstance(raw, str)  # a text frame
            self.assertEqual(json.loads(raw),
                             {"stream": ["user"], "event": "notification", "payload": note})
            await apublish(self.svc, "user", "delete", "12345", account=11)
            self.assertEqual(await recv_json(ws),
                             {"stream": ["user"], "event": "delete", "payload": "12345"})
            await apublish(self.svc, "user", "filters_changed", None, account=11)
            self.assertEqual(await recv_json(ws), {"stream": ["user"], "event": "filters_changed"})
            # Another account's events never arrive.
            await apublish(self.svc, "user", "update", '{"id":"x"}', account=12)
            await ws.send(json.dumps({"type": "unsubscribe", "stream": "user"}))
            await asyncio.sleep(0.1)
            await apublish(self.svc, "user", "update", '{"id":"after"}', account=11)
            await apublish(self.svc, "public", "update", '{"id":"marker"}')
            # The next frame is the public marker: nothing from the user stream came between.
            self.assertEqual(await recv_json(ws), {"stream": ["public"], "event": "update",
                                                   "payload": '{"id":"marker"}'})

    async def test_user_notification_stream(self):
        async with websockets.connect(ws_url(self.svc, "/api/v1/streaming?stream=user:notification"),
                                      subprotocols=["tok-13"]) as ws:
            await asyncio.sleep(0.1)
            await apublish(self.svc, "user", "update", '{"id":"s1"}', account=13)
            await apublish(self.svc, "user", "notification", '{"id":"n1"}', account=13)
            self.assertEqual(await recv_json(ws), {"stream": ["user:notification"],
                                                   "event": "notification",
                                                   "payload": '{"id":"n1"}'})

    async def test_token_sources(self):
        cases = [
            ("/api/v1/streaming?stream=user", {"extra_headers": {"Authorization": "Bearer tok-21"}}, 21),
            ("/api/v1/streaming?stream=user&access_token=tok-22", {}, 22),
            ("/api/v1/streaming/?stream=user", {"subprotocols": ["tok-23"]}, 23),
        ]
        for path, kw, account in cases:
            async with websockets.connect(ws_url(self.svc, path), **kw) as ws:
                if "subprotocols" in kw:
                    self.assertEqual(ws.subprotocol, "tok-23")
                await asyncio.sleep(0.1)
                await apublish(self.svc, "user", "update", '{"for":%d}' % account, account=account)
                frame = await recv_json(ws)
                self.assertEqual(frame["payload"], '{"for":%d}' % account, path)

    def test_protocol_echo_and_accept_raw(self):
        ws = RawWS(self.svc.port, headers={"Sec-WebSocket-Protocol": "tok-24"})
        try:
            self.assertEqual(ws.status, 101)
            self.assertEqual(ws.headers["sec-websocket-protocol"], "tok-24")
            self.assertEqual(ws.headers["sec-websocket-accept"], ws.expected_accept)
            self.assertEqual(ws.headers["upgrade"].lower(), "websocket")
        finally:
            ws.close()
        # Without an offered protocol none is sent back.
        ws = RawWS(self.svc.port, "/api/v1/streaming?stream=public")
        try:
            self.assertEqual(ws.status, 101)
            self.assertNotIn("sec-websocket-protocol", ws.headers)
        finally:
            ws.close()

    async def test_user_stream_needs_token(self):
        for kw in ({}, {"extra_headers": {"Authorization": "Bearer nope"}},
                   {"subprotocols": ["tok-0"]}):
            with self.assertRaises(websockets.InvalidStatusCode) as cm:
                async with websockets.connect(ws_url(self.svc, "/api/v1/streaming?stream=user"),
                                              **kw):
                    pass
            self.assertEqual(cm.exception.status_code, 401)
        # The same as plain HTTP: Mastodon's JSON error before any upgrade.
        ws = RawWS(self.svc.port, "/api/v1/streaming?stream=user")
        self.assertEqual(ws.status, 401)
        self.assertIn(b'"error"', ws.buf)
        ws.close()
        for path in ("/api/v1/streaming/user", "/api/v1/streaming/user/notification",
                     "/api/v1/streaming/user?access_token=bad"):
            r, j = self.svc.json("GET", path)
            self.assertEqual(r.status, 401, path)
            self.assertIn("error", j)
        # A WebSocket opened without a token may not subscribe to user: an error frame.
        async with websockets.connect(ws_url(self.svc)) as ws:
            await ws.send(json.dumps({"type": "subscribe", "stream": "user"}))
            self.assertEqual(await recv_json(ws), {"error": "Missing access token", "status": 401})

    async def test_streams_need_the_scope_of_what_they_carry(self):
        scope_error = "Access token does not cover required scopes"
        # The handshake of a stream the token may not read: 401 with Mastodon's error.
        for token, stream in (("tok-31-n", "user"), ("tok-31-s", "user:notification"),
                              ("tok-31-0", "user"), ("tok-31-0", "user:notification")):
            with self.assertRaises(websockets.InvalidStatusCode) as cm:
                async with websockets.connect(
                        ws_url(self.svc, "/api/v1/streaming?stream=" + stream),
                        subprotocols=[token]):
                    pass
            self.assertEqual(cm.exception.status_code, 401, (token, stream))
        for path, token in (("/api/v1/streaming/user", "tok-31-n"),
                            ("/api/v1/streaming/user/notification", "tok-31-s"),
                            ("/api/v1/streaming?stream=user", "tok-31-0")):
            r, j = self.svc.json("GET", path + ("&" if "?" in path else "?") +
                                 "access_token=" + token)
            self.assertEqual((r.status, j), (401, {"error": scope_error}), path)
        # Subscribing to one: an error frame, and the connection goes on; public needs no scope.
        async with websockets.connect(ws_url(self.svc), subprotocols=["tok-31-0"]) as ws:
            for stream in ("user", "user:notification"):
                await ws.send(json.dumps({"type": "subscribe", "stream": stream}))
                self.assertEqual(await recv_json(ws), {"error": scope_error, "status": 401})
            await ws.send(json.dumps({"type": "subscribe", "stream": "public"}))
            await asyncio.sleep(0.1)
            await apublish(self.svc, "user", "update", '{"id":"not-mine"}', account=31)
            await apublish(self.svc, "public", "update", '{"id":"p"}')
            self.assertEqual(await recv_json(ws), {"stream": ["public"], "event": "update",
                                                   "payload": '{"id":"p"}'})
        # Statuses only: the user stream's updates, never its notifications.
        async with websockets.connect(ws_url(self.svc, "/api/v1/streaming?stream=user"),
                                      subprotocols=["tok-32-s"]) as ws:
            await asyncio.sleep(0.1)
            await apublish(self.svc, "user", "notification", '{"id":"n"}', account=32)
            await apublish(self.svc, "user", "update", '{"id":"u"}', account=32)
            self.assertEqual(await recv_json(ws), {"stream": ["user"], "event": "update",
                                                   "payload": '{"id":"u"}'})
        # Notifications only: user:notification, and the notifications of a user subscription
        # are refused with it.
        async with websockets.connect(
                ws_url(self.svc, "/api/v1/streaming?stream=user:notification"),
                subprotocols=["tok-33-n"]) as ws:
            await ws.send(json.dumps({"type": "subscribe", "stream": "user"}))
            self.assertEqual(await recv_json(ws), {"error": scope_error, "status": 401})
            await apublish(self.svc, "user", "update", '{"id":"u2"}', account=33)
            await apublish(self.svc, "user", "notification", '{"id":"n2"}', account=33)
            self.assertEqual(await recv_json(ws), {"stream": ["user:notification"],
                                                   "event": "notification",
                                                   "payload": '{"id":"n2"}'})

    async def test_public_without_token(self):
        sse = SSE(self.svc, "/api/v1/streaming/public")
        sse_local = SSE(self.svc, "/api/v1/streaming/public/local")
        sse_query = SSE(self.svc, "/api/v1/streaming?stream=public")  # SSE at the WS path
        try:
            self.assertEqual(sse.resp.status, 200)
            self.assertEqual(sse.resp.getheader("Content-Type"), "text/event-stream")
            async with websockets.connect(ws_url(self.svc, "/api/v1/streaming?stream=public:local")) as ws:
                await asyncio.sleep(0.1)
                await apublish(self.svc, "public", "update", '{"id":"p1"}')
                await apublish(self.svc, "public:local", "update", '{"id":"l1"}')
                await apublish(self.svc, "public", "delete", "99")
                self.assertEqual(await recv_json(ws), {"stream": ["public:local"],
                                                       "event": "update",
                                                       "payload": '{"id":"l1"}'})
            self.assertEqual(sse.next(), ("update", '{"id":"p1"}'))
            self.assertEqual(sse.next(), ("delete", "99"))
            self.assertEqual(sse_local.next(), ("update", '{"id":"l1"}'))
            self.assertEqual(sse_query.next(), ("update", '{"id":"p1"}'))
        finally:
            for s in (sse, sse_local, sse_query):
                s.close()

    def test_sse_user_events(self):
        sse = SSE(self.svc, "/api/v1/streaming/user", {"Authorization": "Bearer tok-31"})
        notes = SSE(self.svc, "/api/v1/streaming/user/notification?access_token=tok-31")
        try:
            self.assertEqual(sse.resp.status, 200)
            self.assertEqual(sse.next(comments=True), ("comment", ")"))
            time.sleep(0.1)
            publish(self.svc, "user", "update", '{"id":"1","content":"<p>hi</p>"}', account=31)
            publish(self.svc, "user", "notification", '{"id":"2"}', account=31)
            publish(self.svc, "user", "delete", "1", account=31)
            publish(self.svc, "user", "update", "line1\nline2", account=31)
            self.assertEqual(sse.next(), ("update", '{"id":"1","content":"<p>hi</p>"}'))
            self.assertEqual(sse.next(), ("notification", '{"id":"2"}'))
            self.assertEqual(sse.next(), ("delete", "1"))
            self.assertEqual(sse.next(), ("update", "line1\nline2"))  # one data line each
            self.assertEqual(notes.next(), ("notification", '{"id":"2"}'))
        finally:
            sse.close()
            notes.close()

    def test_mastodon_py_stream_user(self):
        """Mastodon.py 1.8 (Debian's python3-mastodon) streams over SSE: a client we did not write."""
        from mastodon import Mastodon, StreamListener
        api = Mastodon(access_token="tok-61", api_base_url="http://127.0.0.1:%d" % self.svc.port,
                       version_check_mode="none")
        got, done = [], threading.Event()

        class Listener(StreamListener):
            def on_update(self, status):
                got.append(("update", str(status["id"]), status["content"]))

            def on_notification(self, notification):
                got.append(("notification", str(notification["id"]), notification["type"]))

            def on_delete(self, status_id):
                got.append(("delete", str(status_id)))
                done.set()

        base = open_count(self.svc)
        handle = api.stream_user(Listener(), run_async=True)
        try:
            self.assertTrue(wait_until(lambda: open_count(self.svc) == base + 1))
            publish(self.svc, "user", "update",
                    json.dumps({"id": "501", "content": "<p>hi</p>",
                                "created_at": "2026-11-25T01:02:03.000Z"}), account=61)
            publish(self.svc, "user", "notification",
                    json.dumps({"id": "502", "type": "favourite",
                                "created_at": "2026-11-25T01:02:04.000Z"}), account=61)
            publish(self.svc, "user", "delete", "501", account=61)
            self.assertTrue(done.wait(10), got)
        finally:
            # Mastodon.py's close() reads on until the server sends more (a heartbeat, or the
            # end at shutdown), so it runs on the side.
            threading.Thread(target=handle.close, daemon=True).start()
        self.assertEqual(got, [("update", "501", "<p>hi</p>"),
                               ("notification", "502", "favourite"), ("delete", "501")])

    async def test_garbage_gets_error_frames_and_connection_survives(self):
        async with websockets.connect(ws_url(self.svc), subprotocols=["tok-41"]) as ws:
            bad = ["garbage", "[1,2]", "{}", '{"type":"bogus","stream":"user"}',
                   '{"type":"subscribe","stream":"hashtag"}', '{"type":"subscribe"}',
                   '{"type":"subscribe","stream":"user","type":"x"}', "\u00e9\u00e8"]
            for msg in bad:
                await ws.send(msg)
                frame = await recv_json(ws)
                self.assertIn("error", frame, msg)
                self.assertEqual(frame["status"], 400, msg)
            await ws.send(b"\x00\x01binary")
            self.assertEqual((await recv_json(ws))["status"], 400)
            # A fragmented message is reassembled (wslay), then obeyed.
            await ws.send(iter(['{"type":"subscr', 'ibe","stream":', '"user"}']))
            await asyncio.sleep(0.1)
            await apublish(self.svc, "user", "update", '{"id":"alive"}', account=41)
            self.assertEqual((await recv_json(ws))["payload"], '{"id":"alive"}')
            # Ping/pong through wslay.
            pong = await ws.ping(b"hello")
            await asyncio.wait_for(pong, 5)

    def test_invalid_utf8_and_oversized_message_raw(self):
        ws = RawWS(self.svc.port, headers={"Authorization": "Bearer tok-42"})
        try:
            self.assertEqual(ws.status, 101)
            # Fragmented by hand: text + continuation, with a ping in between.
            ws.send_frame(0x1, b'{"type":"subscribe",', fin=False)
            ws.send_frame(0x9, b"p")
            ws.send_frame(0x0, b'"stream":"public"}', fin=True)
            op, payload, _ = ws.recv_frame()
            self.assertEqual((op, payload), (0xA, b"p"))
            publish(self.svc, "public", "update", '{"id":"frag"}')
            op, payload, _ = ws.recv_frame()
            self.assertEqual(json.loads(payload)["payload"], '{"id":"frag"}')
            # A message over the limit (16 KiB) closes with 1009, as RFC 6455 says.
            ws.send_frame(0x1, b"x" * 20000)
            op, payload, _ = ws.recv_frame()
            self.assertEqual(op, 0x8)
            self.assertEqual(struct.unpack("!H", payload[:2])[0], 1009)
        finally:
            ws.close()
        # A text frame that is not UTF-8 fails the connection with 1007 (RFC 6455 8.1).
        ws = RawWS(self.svc.port, headers={"Authorization": "Bearer tok-42"})
        try:
            ws.send_frame(0x1, b'{"type":"subscribe","stream":"\xff\xfe"}')
            op, payload, _ = ws.recv_frame()
            self.assertEqual((op, struct.unpack("!H", payload[:2])[0]), (0x8, 1007))
        finally:
            ws.close()

    def test_close_handshake(self):
        ws = RawWS(self.svc.port, "/api/v1/streaming?stream=public")
        before = open_count(self.svc)
        ws.send_frame(0x8, struct.pack("!H", 1000))
        op, payload, _ = ws.recv_frame()
        self.assertEqual(op, 0x8)
        self.assertEqual(struct.unpack("!H", payload[:2])[0], 1000)
        self.assertEqual(ws.sock.recv(10), b"")  # and the server closes the TCP connection
        ws.close()
        self.assertTrue(wait_until(lambda: open_count(self.svc) == before - 1))

    def test_bad_requests(self):
        r, j = self.svc.json("GET", "/api/v1/streaming/hashtag")
        self.assertEqual((r.status, j), (400, {"error": "Unknown channel requested"}))
        r, j = self.svc.json("GET", "/api/v1/streaming/public/remote")
        self.assertEqual(r.status, 400)
        r, j = self.svc.json("GET", "/api/v1/streaming")  # no Upgrade, no stream
        self.assertEqual(r.status, 400)
        # HTTP/1.0 cannot upgrade: libmicrohttpd refuses the 101 and drops the connection, and
        # the slot taken for it comes back.
        before = open_count(self.svc)
        answer = raw(self.svc.port, b"GET /api/v1/streaming?stream=user HTTP/1.0\r\n"
                     b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     b"Authorization: Bearer tok-81\r\n\r\n")
        self.assertNotIn(b" 101 ", answer.split(b"\r\n", 1)[0])
        self.assertTrue(wait_until(lambda: open_count(self.svc) == before))
        r, _ = self.svc.request("HEAD", "/api/v1/streaming/user")
        self.assertEqual(r.status, 401)
        r, _ = self.svc.request("HEAD", "/api/v1/streaming/public")
        self.assertEqual((r.status, r.getheader("Content-Type")), (200, "text/event-stream"))
        ws = RawWS(self.svc.port, "/api/v1/streaming?stream=nope")
        self.assertEqual(ws.status, 400)
        ws.close()
        ws = RawWS(self.svc.port, headers={"Sec-WebSocket-Version": "8"})
        self.assertEqual(ws.status, 426)
        self.assertEqual(ws.headers.get("sec-websocket-version"), "13")
        ws.close()
        ws = RawWS(self.svc.port, headers={"Sec-WebSocket-Key": "short"})
        self.assertEqual(ws.status, 400)
        ws.close()
        r, j = self.svc.json("POST", "/test/publish", "stream=nope&event=update&payload=x",
                             {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 422)
        r, j = self.svc.json("POST", "/test/publish", "stream=public&event=bad%0Aevent&payload=x",
                             {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 422)

    async def test_publish_from_many_threads(self):
        async with websockets.connect(ws_url(self.svc, "/api/v1/streaming?stream=public"),
                                      max_queue=None) as ws:
            await asyncio.sleep(0.1)
            threads, count = 8, 500
            res = await apublish(self.svc, "public", "update", None, threads=threads, count=count)
            self.assertEqual(res["failed"], 0)
            last = [-1] * threads
            for _ in range(threads * count):
                p = json.loads((await recv_json(ws))["payload"])
                self.assertEqual(p["n"], last[p["t"]] + 1)  # each thread's order is kept
                last[p["t"]] = p["n"]
            self.assertEqual(last, [count - 1] * threads)

    def test_abrupt_disconnects_do_not_leak(self):
        base = open_count(self.svc)
        socks = [RawWS(self.svc.port, "/api/v1/streaming?stream=public") for _ in range(40)]
        socks += [RawWS(self.svc.port, "/api/v1/streaming", {"Authorization": "Bearer tok-51"})
                  for _ in range(5)]
        sses = [SSE(self.svc, "/api/v1/streaming/public") for _ in range(10)]
        self.assertTrue(wait_until(lambda: open_count(self.svc) == base + 55))
        for s in socks:
            s.reset()
        for s in sses:
            s.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        # WebSockets notice at once (the loop reads the reset); SSE on the next write.
        self.assertTrue(wait_until(lambda: open_count(self.svc) <= base + 10))
        for _ in range(3):
            publish(self.svc, "public", "update", '{"id":"poke"}')
            time.sleep(0.2)
        self.assertTrue(wait_until(lambda: open_count(self.svc) == base), open_count(self.svc))


class LimitsTest(AsyncCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service(TESTD, "--stream-max-connections", "5", "--stream-max-per-account",
                          "2", "--stream-heartbeat-ms", "60000")

    @classmethod
    def tearDownClass(cls):
        stop_clean(unittest.TestCase(), cls.svc)

    async def test_limits(self):
        a1 = await websockets.connect(ws_url(self.svc), subprotocols=["tok-1"])
        a2 = SSE(self.svc, "/api/v1/streaming/user", {"Authorization": "Bearer tok-1"})
        self.assertEqual(a2.resp.status, 200)
        # A third stream of account 1: 429 on both transports, before any upgrade.
        with self.assertRaises(websockets.InvalidStatusCode) as cm:
            await websockets.connect(ws_url(self.svc), subprotocols=["tok-1"])
        self.assertEqual(cm.exception.status_code, 429)
        r, j = self.svc.json("GET", "/api/v1/streaming/user", headers={"Authorization": "Bearer tok-1"})
        self.assertEqual(r.status, 429)
        self.assertIn("error", j)
        # Others still get in, up to 5 in total.
        b1 = await websockets.connect(ws_url(self.svc), subprotocols=["tok-2"])
        anon = [await websockets.connect(ws_url(self.svc, "/api/v1/streaming?stream=public"))
                for _ in range(2)]
        with self.assertRaises(websockets.InvalidStatusCode) as cm:
            await websockets.connect(ws_url(self.svc, "/api/v1/streaming?stream=public"))
        self.assertEqual(cm.exception.status_code, 429)
        r, j = self.svc.json("GET", "/api/v1/streaming/public")
        self.assertEqual(r.status, 429)
        self.assertEqual(metric(self.svc, "streaming_connections_rejected_total",
                                '{reason="account_limit"}'), 2)
        self.assertEqual(metric(self.svc, "streaming_connections_rejected_total",
                                '{reason="total_limit"}'), 2)
        self.assertEqual(metric(self.svc, "streaming_connected_clients", '{type="websocket"}'), 4)
        self.assertEqual(metric(self.svc, "streaming_connected_clients", '{type="eventsource"}'), 1)
        # Closing frees the slots.
        await a1.close()
        a2.close()
        # A suspended SSE response notices its client left only when it writes again.
        self.assertTrue(wait_until(lambda: publish(self.svc, "user", "update", "{}", account=1)
                                   and open_count(self.svc) == 3, step=0.2))
        a3 = await websockets.connect(ws_url(self.svc), subprotocols=["tok-1"])
        a4 = SSE(self.svc, "/api/v1/streaming/user", {"Authorization": "Bearer tok-1"})
        self.assertEqual(a4.resp.status, 200)
        for ws in [a3, b1] + anon:
            await ws.close()
        a4.close()


class FramingTest(AsyncCase):
    """Client frames cut anywhere, and wslay's context created and dropped around them: the hub
    keeps it only while a frame or fragmented message is half received, something is queued or
    half sent, or a close is under way (gauge streaming_websocket_busy)."""

    # Every kind of client frame boundary: 7-bit and 16-bit lengths, a fragmented message with a
    # ping between its fragments, control frames with payloads.
    BOGUS = json.dumps({"type": "bogus", "pad": "x" * 150}).encode()
    SEQ = (ws_frame(0x1, b'{"type":"subscribe","stream":"public"}')
           + ws_frame(0x9, b"p1")
           + ws_frame(0x1, BOGUS)
           + ws_frame(0x1, b'{"type":"subscr', fin=False)
           + ws_frame(0x9, b"p2")
           + ws_frame(0x0, b'ibe","stream":', fin=False)
           + ws_frame(0x0, b'"user:notification"}')
           + ws_frame(0x9, b"p3"))
    REPLIES = [(0xA, b"p1"), (0x1, {"error": "Unknown message type", "status": 400}),
               (0xA, b"p2"), (0x1, {"error": "Missing access token", "status": 401}),
               (0xA, b"p3")]

    @classmethod
    def setUpClass(cls):
        cls.svc = Service(TESTD, "--stream-heartbeat-ms", "60000")

    @classmethod
    def tearDownClass(cls):
        stop_clean(unittest.TestCase(), cls.svc)

    def busy(self):
        return metric(self.svc, "streaming_websocket_busy")

    def connect(self):
        ws = RawWS(self.svc.port, "/api/v1/streaming")
        self.assertEqual(ws.status, 101)
        ws.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return ws

    def check_replies(self, ws, what):
        # wslay sends queued control frames before data frames: the pongs and the error frames
        # are each in order, but interleave differently with how the bytes were read.
        got = []
        for _ in self.REPLIES:
            op, payload, fin = ws.recv_frame()
            got.append((op, json.loads(payload) if op == 0x1 else payload, fin))
        for kind in (0x1, 0xA):
            self.assertEqual([g for g in got if g[0] == kind],
                             [(op, want, True) for op, want in self.REPLIES if op == kind], what)

    def check_subscribed(self, ws, what):
        publish(self.svc, "public", "update", '{"id":"split"}')
        op, payload, _ = ws.recv_frame()
        self.assertEqual((op, json.loads(payload)["payload"]), (0x1, '{"id":"split"}'), what)

    def test_frames_split_at_every_byte(self):
        # One byte per read.
        ws = self.connect()
        for i in range(len(self.SEQ)):
            ws.sock.sendall(self.SEQ[i:i + 1])
            time.sleep(0.002)
        self.check_replies(ws, "byte by byte")
        self.check_subscribed(ws, "byte by byte")
        ws.close()
        # Two reads, cut at every position: the second read holds many frames.
        for cut in range(1, len(self.SEQ)):
            ws = self.connect()
            ws.sock.sendall(self.SEQ[:cut])
            time.sleep(0.01)
            ws.sock.sendall(self.SEQ[cut:])
            self.check_replies(ws, "cut at %d" % cut)
            ws.close()
        self.assertTrue(wait_until(lambda: open_count(self.svc) == 0))
        self.assertEqual(self.busy(), 0)

    def test_64bit_length_cut_byte_by_byte(self):
        ws = self.connect()
        head = ws_frame(0x1, b"")[:1] + bytes([0x80 | 127]) + struct.pack("!Q", 70000)
        for i in range(len(head)):
            ws.sock.sendall(head[i:i + 1])
            time.sleep(0.002)
        # The mask and the first payload bytes (wslay reports a frame with its first bytes);
        # the length is past the 16 KiB limit.
        ws.sock.sendall(os.urandom(4 + 100))
        op, payload, _ = ws.recv_frame()
        self.assertEqual((op, struct.unpack("!H", payload[:2])[0]), (0x8, 1009))
        ws.close()

    def test_reset_with_half_a_frame(self):
        ws = self.connect()
        ws.sock.sendall(ws_frame(0x1, b'{"type":"subscribe"}')[:5])
        self.assertTrue(wait_until(lambda: self.busy() == 1))
        ws.reset()
        self.assertTrue(wait_until(lambda: open_count(self.svc) == 0))
        self.assertEqual(self.busy(), 0)

    def test_context_only_while_busy(self):
        ws = self.connect()
        self.assertTrue(wait_until(lambda: open_count(self.svc) == 1))
        self.assertEqual(self.busy(), 0)  # idle from the start
        ping = ws_frame(0x9, b"hello")
        ws.sock.sendall(ping[:1])  # half a header
        self.assertTrue(wait_until(lambda: self.busy() == 1))
        ws.sock.sendall(ping[1:5])  # the header without its mask
        time.sleep(0.1)
        self.assertEqual(self.busy(), 1)
        ws.sock.sendall(ping[5:])
        self.assertEqual(ws.recv_frame(), (0xA, b"hello", True))
        self.assertTrue(wait_until(lambda: self.busy() == 0))
        # A fragmented message keeps it, also across a ping between its fragments.
        ws.sock.sendall(ws_frame(0x1, b'{"type":', fin=False))
        self.assertTrue(wait_until(lambda: self.busy() == 1))
        ws.sock.sendall(ws_frame(0x9, b"mid"))
        self.assertEqual(ws.recv_frame(), (0xA, b"mid", True))
        time.sleep(0.1)
        self.assertEqual(self.busy(), 1)
        ws.sock.sendall(ws_frame(0x0, b'"nope"}'))
        op, payload, _ = ws.recv_frame()
        self.assertEqual((op, json.loads(payload)["error"]), (0x1, "Unknown message type"))
        self.assertTrue(wait_until(lambda: self.busy() == 0))
        # Sent events need it only while they are written.
        ws.sock.sendall(ws_frame(0x1, b'{"type":"subscribe","stream":"public"}'))
        time.sleep(0.1)
        for i in range(3):
            publish(self.svc, "public", "update", '{"id":"%d"}' % i)
            op, payload, _ = ws.recv_frame()
            self.assertEqual(json.loads(payload)["payload"], '{"id":"%d"}' % i)
        self.assertTrue(wait_until(lambda: self.busy() == 0))
        # A close handshake started while idle.
        ws.sock.sendall(ws_frame(0x8, struct.pack("!H", 1000)))
        op, payload, _ = ws.recv_frame()
        self.assertEqual((op, struct.unpack("!H", payload[:2])[0]), (0x8, 1000))
        self.assertEqual(ws.sock.recv(10), b"")
        ws.close()
        self.assertTrue(wait_until(lambda: open_count(self.svc) == 0))
        self.assertEqual(self.busy(), 0)


class SlowClientTest(AsyncCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service(TESTD, "--stream-send-buffer", "65536", "--stream-heartbeat-ms", "60000")

    @classmethod
    def tearDownClass(cls):
        stop_clean(unittest.TestCase(), cls.svc)

    async def test_slow_readers_are_cut_off_others_keep_receiving(self):
        slow_ws = RawWS(self.svc.port, "/api/v1/streaming?stream=public", rcvbuf=4096)
        slow_sse = socket.create_connection(("127.0.0.1", self.svc.port))
        slow_sse.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow_sse.sendall(b"GET /api/v1/streaming/public HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(slow_ws.status, 101)
        async with websockets.connect(ws_url(self.svc, "/api/v1/streaming?stream=public"),
                                      max_queue=None, max_size=None) as good:
            self.assertTrue(wait_until(lambda: open_count(self.svc) == 3))
            payload = json.dumps({"blob": "x" * 16000})
            n = 400  # 6.4 MB: far past the kernel's socket buffers plus the 64 KiB bound
            received = 0

            async def reader():
                nonlocal received
                while received < n:
                    await recv_json(good, 10)
                    received += 1

            task = asyncio.create_task(reader())
            t0 = time.time()
            for _ in range(n):
                await apublish(self.svc, "public", "update", payload)
            await asyncio.wait_for(task, 30)
            print("slow test: %d events in %.1f s" % (n, time.time() - t0))
            self.assertEqual(received, n)
            self.assertTrue(wait_until(lambda: open_count(self.svc) == 1), open_count(self.svc))
            self.assertEqual(metric(self.svc, "streaming_slow_client_disconnects_total",
                                    '{type="websocket"}'), 1)
            self.assertEqual(metric(self.svc, "streaming_slow_client_disconnects_total",
                                    '{type="eventsource"}'), 1)
        slow_ws.close()
        slow_sse.close()
        rss_ok = True
        with open("/proc/%d/status" % self.svc.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss_ok = int(line.split()[1]) < 200 * 1024
        self.assertTrue(rss_ok)


class HeartbeatTest(AsyncCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service(TESTD, "--stream-heartbeat-ms", "200")

    @classmethod
    def tearDownClass(cls):
        stop_clean(unittest.TestCase(), cls.svc)

    def test_sse_thump(self):
        sse = SSE(self.svc, "/api/v1/streaming/public")
        try:
            t0 = time.time()
            seen = [sse.next(comments=True) for _ in range(4)]
            self.assertEqual(seen, [("comment", ")")] + [("comment", "thump")] * 3)
            self.assertLess(time.time() - t0, 2.5)
        finally:
            sse.close()

    def test_ws_ping_and_idle_peer_closed(self):
        ws = RawWS(self.svc.port, "/api/v1/streaming?stream=public")
        try:
            op, payload, _ = ws.recv_frame()
            self.assertEqual(op, 0x9)  # ping
            ws.send_frame(0xA, payload)
            # A peer that answers stays; one that falls silent is closed after 3 intervals.
            t0 = time.time()
            with self.assertRaises((EOFError, ConnectionResetError)):
                while True:
                    op, payload, _ = ws.recv_frame()
            self.assertGreater(time.time() - t0, 0.3)
            self.assertLess(time.time() - t0, 3)
        finally:
            ws.close()

    async def test_polite_client_survives_heartbeats(self):
        async with websockets.connect(ws_url(self.svc, "/api/v1/streaming?stream=public")) as ws:
            await asyncio.sleep(1.5)  # 7 pings, each answered by the client library
            await apublish(self.svc, "public", "update", '{"id":"still"}')
            self.assertEqual((await recv_json(ws))["payload"], '{"id":"still"}')


class ShutdownTest(AsyncCase):
    async def test_sigterm_closes_streams(self):
        svc = Service(TESTD, "--stream-heartbeat-ms", "60000")
        sse = SSE(svc, "/api/v1/streaming/public")
        async with websockets.connect(ws_url(svc, "/api/v1/streaming?stream=public")) as ws:
            await asyncio.sleep(0.2)
            stopper = asyncio.create_task(asyncio.to_thread(stop_clean, self, svc))
            with self.assertRaises(websockets.ConnectionClosed) as cm:
                await asyncio.wait_for(ws.recv(), 5)
            self.assertEqual(cm.exception.rcvd.code, 1001)  # going away
            await stopper
        self.assertEqual(sse.next(comments=True), ("comment", ")"))
        with self.assertRaises(EOFError):
            sse.next()  # the chunked body ended cleanly
        sse.close()


if __name__ == "__main__":
    unittest.main()
