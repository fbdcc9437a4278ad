"""test_live.py - issue #4 end to end: the real threadly-service, the real notification-service
consuming its outbox feed, and the nginx gateway in front (as `make run`), driven by clients we
did not write. Mastodon.py 1.8's stream_user (SSE) hears `notification` within a second of
another account's favourite, reply or follow and `update` when a followed account posts; a
WebSocket gets payloads byte for byte as the REST API renders them; toot lists and clears
notifications; the REST notifications after real API actions (removals, follow requests,
visibility, none for your own actions); the scopes streaming needs; garbage in the real outbox
is dead-lettered and the consumer goes on. THREADLY_TEST_DB=pgsql runs it on PostgreSQL.
Run with Debian's /usr/bin/python3."""
import asyncio
import json
import os
import queue
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from livestack import PGSQL, Stack, call, metric, wait_until  # noqa: E402

import websockets  # noqa: E402
from mastodon import Mastodon, StreamListener  # noqa: E402


def stream_clients(port):
    """Open streams of the notification-service on port (both transports)."""
    total = 0
    with urllib.request.urlopen(
            "http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("streaming_connected_clients"):
                total += float(line.split()[-1])
    return total


class Recorder(StreamListener):
    """Every streamed event with the time it arrived."""

    def __init__(self):
        super().__init__()
        self.q = queue.Queue()

    def on_update(self, status):
        self.q.put(("update", status, time.monotonic()))

    def on_notification(self, notification):
        self.q.put(("notification", notification, time.monotonic()))

    def on_delete(self, status_id):
        self.q.put(("delete", status_id, time.monotonic()))

    def next(self, timeout=5):
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no streaming event within %s s" % timeout)


class LiveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(gateway=True)
        cls.tok, cls.ids = {}, {}
        for name in ("alice", "bob", "carol", "dave", "erin", "frank"):
            cls.tok[name], cls.ids[name] = cls.stack.account(name)

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def api(self, name, method, path, expect=200, **form):
        st, body = call(self.stack.base, method, path, token=self.tok[name],
                        form=form if method != "GET" else None)
        self.assertEqual(st, expect, "%s %s: %s" % (method, path, body))
        return body

    def post(self, name, text, **kw):
        return self.api(name, "POST", "/api/v1/statuses", **dict(kw, status=text))

    def notes(self, name, **params):
        return self.stack.notifications(self.tok[name], **params)

    def kinds(self, name):
        return sorted((n["type"], n["account"]["username"], (n.get("status") or {}).get("id"))
                      for n in self.notes(name))

    def wait_notes(self, name, pred, timeout=10):
        got = wait_until(lambda: pred(self.notes(name)), timeout)
        self.assertTrue(got, "%s's notifications: %s" % (name, self.kinds(name)))

    def sentinel(self, to, actor="frank"):
        """An action that notifies `to`, then waits for it: every event before it is consumed."""
        self.api(actor, "POST", "/api/v1/accounts/%s/follow" % self.ids[to])
        self.wait_notes(to, lambda ns: any(n["type"] == "follow" and
                                           n["account"]["username"] == actor for n in ns))
        self.api(actor, "POST", "/api/v1/accounts/%s/unfollow" % self.ids[to])
        self.wait_notes(to, lambda ns: not any(n["type"] == "follow" and
                                               n["account"]["username"] == actor for n in ns))

    # ---- streaming with Mastodon.py (SSE, through the gateway) ----

    def test_mastodon_py_stream_user_within_a_second(self):
        alice = Mastodon(access_token=self.tok["alice"], api_base_url=self.stack.base,
                         version_check_mode="none")
        rec = Recorder()
        before = stream_clients(self.stack.notif_port)
        handle = alice.stream_user(rec, run_async=True)
        try:
            self.assertTrue(wait_until(
                lambda: stream_clients(self.stack.notif_port) == before + 1, 10))

            def expect(kind, check):
                start = time.monotonic()
                ev, payload, at = rec.next()
                self.assertEqual(ev, kind, payload)
                check(payload)
                return at - start

            # bob follows alice
            t = time.monotonic()
            self.api("bob", "POST", "/api/v1/accounts/%s/follow" % self.ids["alice"])
            ev, n, at = rec.next()
            self.assertEqual((ev, n["type"], n["account"]["username"]),
                             ("notification", "follow", "bob"))
            self.assertLess(at - t, 1.0, "follow notification latency")
            # alice posts: her own user stream gets the update (she sees her home timeline)
            s = self.post("alice", "hello live world")
            ev, st, _ = rec.next()
            self.assertEqual((ev, str(st["id"])), ("update", s["id"]))
            # bob favourites it
            t = time.monotonic()
            self.api("bob", "POST", "/api/v1/statuses/%s/favourite" % s["id"])
            ev, n, at = rec.next()
            self.assertEqual((ev, n["type"], str(n["status"]["id"])),
                             ("notification", "favourite", s["id"]))
            self.assertLess(at - t, 1.0, "favourite notification latency")
            # bob replies
            t = time.monotonic()
            r = self.post("bob", "@alice nice one", in_reply_to_id=s["id"])
            ev, n, at = rec.next()
            self.assertEqual((ev, n["type"], str(n["status"]["id"])),
                             ("notification", "mention", r["id"]))
            self.assertLess(at - t, 1.0, "mention notification latency")
            # alice follows bob; bob posts: update to alice within a second, then its delete
            self.api("alice", "POST", "/api/v1/accounts/%s/follow" % self.ids["bob"])
            t = time.monotonic()
            b = self.post("bob", "bob's news")
            ev, st, at = rec.next()
            self.assertEqual((ev, str(st["id"]), st["account"]["username"]),
                             ("update", b["id"], "bob"))
            self.assertFalse(st["favourited"])
            self.assertLess(at - t, 1.0, "update latency")
            self.api("bob", "DELETE", "/api/v1/statuses/%s" % b["id"])
            ev, sid, _ = rec.next()
            self.assertEqual((ev, str(sid)), ("delete", b["id"]))
            # a direct status to alice: the mention and the status; its deletion too
            t = time.monotonic()
            dm = self.post("carol", "@alice just between us", visibility="direct")
            ev, n, _ = rec.next()
            self.assertEqual((ev, n["type"], str(n["status"]["id"])),
                             ("notification", "mention", dm["id"]))
            ev, st, at = rec.next()
            self.assertEqual((ev, str(st["id"]), st["visibility"]), ("update", dm["id"], "direct"))
            self.assertLess(at - t, 1.0)
            self.api("carol", "DELETE", "/api/v1/statuses/%s" % dm["id"])
            ev, sid, _ = rec.next()
            self.assertEqual((ev, str(sid)), ("delete", dm["id"]))
            # a private status of someone alice does not follow reaches nobody's stream here
            self.post("carol", "carol's private thought", visibility="private")
            self.sentinel("alice")
            ev, n, _ = rec.next()
            self.assertEqual((ev, n["type"], n["account"]["username"]),
                             ("notification", "follow", "frank"))
            self.assertTrue(rec.q.empty(), list(rec.q.queue))
        finally:
            threading.Thread(target=handle.close, daemon=True).start()
            self.api("alice", "POST", "/api/v1/accounts/%s/unfollow" % self.ids["bob"])
            self.api("bob", "POST", "/api/v1/accounts/%s/unfollow" % self.ids["alice"])

    # ---- WebSocket: byte for byte what REST renders; scopes ----

    def test_websocket_payloads_are_the_rest_entities(self):
        async def run():
            url = "ws://127.0.0.1:%d/api/v1/streaming" % self.stack.gw_port
            async with websockets.connect(url, subprotocols=[self.tok["carol"]]) as ws:
                await ws.send(json.dumps({"type": "subscribe", "stream": "user"}))
                await asyncio.sleep(0.2)
                await asyncio.to_thread(self.api, "dave", "POST", "/api/v1/accounts/%s/follow"
                                        % self.ids["carol"])
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                self.assertEqual(frame["stream"], ["user"])
                self.assertEqual(frame["event"], "notification")
                note = json.loads(frame["payload"])
                st, body = await asyncio.to_thread(
                    call, self.stack.base, "GET", "/api/v1/notifications/%s" % note["id"],
                    self.tok["carol"])
                self.assertEqual(st, 200)
                self.assertEqual(note, body)
                # byte for byte: the REST body re-encoded compactly keeps key order
                self.assertEqual(frame["payload"], json.dumps(body, separators=(",", ":"),
                                                              ensure_ascii=False))
                await asyncio.to_thread(self.api, "dave", "POST",
                                        "/api/v1/accounts/%s/unfollow" % self.ids["carol"])
        asyncio.run(run())

    def test_streaming_scopes_and_bad_tokens(self):
        async def status_of(token, stream="user"):
            url = "ws://127.0.0.1:%d/api/v1/streaming?stream=%s" % (self.stack.gw_port, stream)
            try:
                async with websockets.connect(url, subprotocols=[token]):
                    return 101
            except websockets.exceptions.InvalidStatusCode as e:  # websockets 10
                return e.status_code

        write_only = self.stack.token_with_scope("erin", "write")
        notes_only = self.stack.token_with_scope("erin", "read:notifications")
        statuses_only = self.stack.token_with_scope("erin", "read:statuses")
        # Mastodon's per-stream rule: user needs read or read:statuses, user:notification read
        # or read:notifications, the public streams no scope.
        self.assertEqual(asyncio.run(status_of(write_only)), 401)
        self.assertEqual(asyncio.run(status_of(write_only, "public")), 101)
        self.assertEqual(asyncio.run(status_of("x" + self.tok["erin"])), 401)
        self.assertEqual(asyncio.run(status_of(notes_only)), 401)
        self.assertEqual(asyncio.run(status_of(notes_only, "user:notification")), 101)
        self.assertEqual(asyncio.run(status_of(statuses_only)), 101)
        self.assertEqual(asyncio.run(status_of(statuses_only, "user:notification")), 401)
        self.assertEqual(asyncio.run(status_of(self.tok["erin"])), 101)
        # a revoked token stops working once token.revoked is consumed
        doomed = self.stack.token_with_scope("erin", "read")
        st, _ = call(self.stack.base, "POST", "/oauth/revoke",
                     form={"client_id": self.stack.app["client_id"],
                           "client_secret": self.stack.app["client_secret"], "token": doomed})
        self.assertEqual(st, 200)
        self.assertTrue(wait_until(lambda: asyncio.run(status_of(doomed)) == 401, 10))
        # /metrics shows the streams
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.stack.notif_port) as r:
            text = r.read().decode()
        for name in ("streaming_connected_clients", "streaming_messages_sent_total",
                     "streaming_connections_rejected_total", "streaming_events_dropped_total"):
            self.assertIn("\n" + name, text)
        rejected = sum(float(l.split()[-1]) for l in text.splitlines()
                       if l.startswith("streaming_connections_rejected_total"))
        self.assertGreaterEqual(rejected, 3)

    # ---- REST notifications after real API actions ----

    def test_rest_notifications_follow_the_api_actions(self):
        s = self.post("carol", "carol's post")
        # favourite, then unfavourite removes it
        self.api("dave", "POST", "/api/v1/statuses/%s/favourite" % s["id"])
        self.wait_notes("carol", lambda ns: ("favourite", "dave", s["id"]) in
                        [(n["type"], n["account"]["username"], n["status"]["id"]) for n in ns
                         if n["type"] == "favourite"])
        self.api("dave", "POST", "/api/v1/statuses/%s/unfavourite" % s["id"])
        self.wait_notes("carol", lambda ns: not any(n["type"] == "favourite" for n in ns))
        # a reply (no @) and a mention each make a mention
        r = self.post("dave", "a reply", in_reply_to_id=s["id"])
        m = self.post("dave", "hey @carol")
        self.wait_notes("carol", lambda ns: sorted(n["status"]["id"] for n in ns
                                                   if n["type"] == "mention") ==
                        sorted([r["id"], m["id"]]))
        # deleting a status removes the notifications it caused
        self.api("dave", "DELETE", "/api/v1/statuses/%s" % m["id"])
        self.api("dave", "POST", "/api/v1/statuses/%s/favourite" % s["id"])
        self.wait_notes("carol", lambda ns: any(n["type"] == "favourite" for n in ns) and
                        m["id"] not in [n["status"]["id"] for n in ns if n["type"] == "mention"])
        self.api("carol", "DELETE", "/api/v1/statuses/%s" % s["id"])
        self.wait_notes("carol", lambda ns: not any(n["type"] == "favourite" for n in ns))
        # follow, unfollow
        self.api("dave", "POST", "/api/v1/accounts/%s/follow" % self.ids["carol"])
        self.wait_notes("carol", lambda ns: any(n["type"] == "follow" and
                                                n["account"]["username"] == "dave" for n in ns))
        self.api("dave", "POST", "/api/v1/accounts/%s/unfollow" % self.ids["carol"])
        self.wait_notes("carol", lambda ns: not any(n["type"] == "follow" and
                                                    n["account"]["username"] == "dave"
                                                    for n in ns))

    def test_follow_request_then_accept(self):
        self.api("erin", "PATCH", "/api/v1/accounts/update_credentials", locked="true")
        rel = self.api("dave", "POST", "/api/v1/accounts/%s/follow" % self.ids["erin"])
        self.assertTrue(rel["requested"])
        self.wait_notes("erin", lambda ns: [(n["type"], n["account"]["username"]) for n in ns
                                            if n["account"]["username"] == "dave"] ==
                        [("follow_request", "dave")])
        self.api("erin", "POST", "/api/v1/follow_requests/%s/authorize" % self.ids["dave"])
        self.wait_notes("erin", lambda ns: [(n["type"], n["account"]["username"]) for n in ns
                                            if n["account"]["username"] == "dave"] ==
                        [("follow", "dave")])
        # a rejected request leaves nothing
        rel = self.api("frank", "POST", "/api/v1/accounts/%s/follow" % self.ids["erin"])
        self.wait_notes("erin", lambda ns: any(n["type"] == "follow_request" for n in ns))
        self.api("erin", "POST", "/api/v1/follow_requests/%s/reject" % self.ids["frank"])
        self.wait_notes("erin", lambda ns: not any(n["account"]["username"] == "frank"
                                                   for n in ns))
        self.api("dave", "POST", "/api/v1/accounts/%s/unfollow" % self.ids["erin"])
        self.api("erin", "PATCH", "/api/v1/accounts/update_credentials", locked="false")

    def test_no_notifications_for_own_actions_and_visibility(self):
        before = self.kinds("alice")
        s = self.post("alice", "mine")
        self.api("alice", "POST", "/api/v1/statuses/%s/favourite" % s["id"])
        self.post("alice", "@alice talking to myself", in_reply_to_id=s["id"])
        st, _ = call(self.stack.base, "POST", "/api/v1/accounts/%s/follow" % self.ids["alice"],
                     token=self.tok["alice"])
        self.assertNotEqual(st, 200, "following yourself is refused")
        # private reply without a mention: the parent's author is not told; with one, she is
        p1 = self.post("carol", "private, no mention", in_reply_to_id=s["id"],
                       visibility="private")
        p2 = self.post("carol", "@alice private with mention", visibility="private")
        # direct: the mentioned account only
        d = self.post("carol", "@alice @dave direct words", visibility="direct")
        self.sentinel("alice")
        got = [x for x in self.kinds("alice") if x not in before]
        self.assertEqual(sorted(got), sorted([("mention", "carol", p2["id"]),
                                              ("mention", "carol", d["id"])]),
                         "nothing for alice's own actions nor for %s" % p1["id"])
        self.wait_notes("dave", lambda ns: d["id"] in [(n.get("status") or {}).get("id")
                                                      for n in ns])
        self.sentinel("erin")
        self.assertNotIn(d["id"], [(n.get("status") or {}).get("id") for n in self.notes("erin")])

    # ---- toot ----

    def toot(self, cfg, *args, stdin=None):
        env = dict(os.environ, XDG_CONFIG_HOME=cfg)
        p = subprocess.run(["toot", *args], input=stdin, capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(p.returncode, 0, "toot %s: %s%s" % (args, p.stdout, p.stderr))
        return p.stdout

    def test_toot_lists_and_clears_notifications(self):
        cfg = tempfile.mkdtemp(prefix="toot-frank-")
        self.toot(cfg, "login_cli", "-i", "127.0.0.1:%d" % self.stack.gw_port, "--disable-https",
                  "-e", "frank@example.org", stdin="correct horse battery\n")
        s = self.post("frank", "frank writes")
        self.api("bob", "POST", "/api/v1/statuses/%s/favourite" % s["id"])
        self.post("bob", "@frank hello from bob")
        self.wait_notes("frank", lambda ns: len([n for n in ns if n["account"]["username"] ==
                                                 "bob"]) == 2)
        out = self.toot(cfg, "notifications", "--no-color")
        self.assertIn("@bob favourited your status", out)
        self.assertIn("@bob mentioned you in", out)
        self.assertIn("hello from bob", out)
        self.assertIn("Cleared notifications", self.toot(cfg, "notifications", "--clear"))
        self.assertEqual(self.notes("frank"), [])
        self.assertIn("No notification", self.toot(cfg, "notifications", "--no-color"))

    # ---- the real feed path with garbage in the outbox ----

    @unittest.skipIf(PGSQL, "writes into the SQLite outbox")
    def test_garbage_in_the_outbox_is_dead_lettered(self):
        """Rows another writer put in threadly-service's outbox that are no event we know: an
        unknown type and data of the wrong shape. Both are dead-lettered, the rest flows."""
        dead0 = metric(self.stack.notif_port, "notification_events_dead_lettered_total") or 0
        db = sqlite3.connect(os.path.join(self.stack.data, "threadly", "threadly.db"), timeout=10)
        with db:
            for typ, data in (("poll.ended", "{}"), ("status.created", '{"status":42}')):
                seq, eid = db.execute("SELECT max(seq) + 1, max(id) + 1 FROM outbox").fetchone()
                db.execute("INSERT INTO outbox (seq, id, type, key, version, occurred_at_ms, "
                           "data) VALUES (?, ?, ?, '1', 1, 1795957323000, ?)",
                           (seq, eid, typ, data))
        db.close()
        self.sentinel("carol")
        self.assertEqual(metric(self.stack.notif_port,
                                "notification_events_dead_lettered_total"), dead0 + 2)


if __name__ == "__main__":
    unittest.main()
