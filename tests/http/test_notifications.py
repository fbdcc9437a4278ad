"""test_notifications.py - notification-service end to end: the real binary consumes crafted
events from a fake outbox feed (a small HTTP server here, speaking docs/events.md), and is
driven over its Mastodon REST API with real tokens minted by the real threadly-service (which
shares the data dir, so the default --jwt-public-key path is exercised). Covers notifications
made and removed, filters, paging and Link, dismiss/clear/unread_count/markers, 401/403/422 for
bad, revoked or under-scoped tokens, replays, dead letters, and the feed going down.

THREADLY_TEST_DB=pgsql runs notification-service on a fresh PostgreSQL database too."""
import base64
import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
import unittest
import urllib.parse

import harness
from fakefeed import FakeFeed, RawText, envelope, next_id
from harness import Service

CORE = os.environ["THREADLY_CORE_BIN"]
NOTIF = os.environ["THREADLY_NOTIFICATION_BIN"]
FAST = ("--argon2-ops", "1", "--argon2-mem-kib", "8", "--signup-limit", "1000",
        "--login-limit", "1000")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
SECRET = "s3cret-feed"


class NotificationsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.data = tempfile.mkdtemp(prefix="threadly-notif-test-")
        cls.core = Service(CORE, *FAST, data_dir=cls.data)
        cls.feed = FakeFeed()
        args = ["--events-url", cls.feed.url(), "--events-wait", "1",
                "--events-backoff-max-ms", "200", "--internal-secret", SECRET,
                "--public-url", "https://threadly.example/",
                # Applied event ids are forgotten after 2 s (test_processed_ids_are_pruned).
                "--processed-events-retention-s", "2", "--processed-events-prune-interval-s", "1"]
        if harness.PGSQL:
            args += ["--db", harness.pg_database_for(cls.data + "/notification")]
        cls.notif = Service(NOTIF, *args, data_dir=cls.data)
        cls.app = cls.core.json("POST", "/api/v1/apps", json.dumps({
            "client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write follow push"}), JSON)[1]
        cls.users = {}
        for name in ("alice", "bob", "carol", "dave"):
            token = cls.sign_up(name)
            r, me = cls.core.json("GET", "/api/v1/accounts/verify_credentials",
                                  headers={"Authorization": "Bearer " + token})
            assert r.status == 200, me
            cls.users[name] = {"id": me["id"], "token": token, "account": me}
        cls.seq = 0

    @classmethod
    def tearDownClass(cls):
        try:
            assert cls.notif.terminate() == 0, cls.notif.log_text()
            assert cls.core.terminate() == 0, cls.core.log_text()
        finally:
            cls.feed.stop()
            shutil.rmtree(cls.data, ignore_errors=True)

    @classmethod
    def app_token(cls, scope="read write"):
        r, j = cls.core.json("POST", "/oauth/token", urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": cls.app["client_id"],
            "client_secret": cls.app["client_secret"], "scope": scope}), FORM)
        assert r.status == 200, j
        return j["access_token"]

    @classmethod
    def sign_up(cls, name):
        r, j = cls.core.json("POST", "/api/v1/accounts", urllib.parse.urlencode({
            "username": name, "email": name + "@example.org", "password": "correct horse battery",
            "agreement": "1", "locale": "en"}),
            dict(FORM, Authorization="Bearer " + cls.app_token()))
        assert r.status == 200, j
        return j["access_token"]

    def login(self, name, scope):
        r, j = self.core.json("POST", "/oauth/token", urllib.parse.urlencode({
            "grant_type": "password", "client_id": self.app["client_id"],
            "client_secret": self.app["client_secret"], "username": name,
            "password": "correct horse battery", "scope": scope}), FORM)
        self.assertEqual(r.status, 200, j)
        return j["access_token"]

    # ---- helpers ----

    def acct(self, name):
        return self.users[name]["account"]

    def uid(self, name):
        return self.users[name]["id"]

    def status(self, sid, author, visibility="public"):
        return {"id": sid, "created_at": "2026-11-24T01:02:03.000Z", "visibility": visibility,
                "content": "<p>hello</p>", "favourited": False, "account": self.acct(author)}

    def publish(self, *events):
        seq = self.feed.publish(*events)
        self.feed.wait_consumed(seq)
        return seq

    def api(self, method, path, who="alice", body=None, headers=None, token=None):
        h = {"Authorization": "Bearer " + (token or self.users[who]["token"])}
        h.update(headers or {})
        return self.notif.json(method, path, body, h)

    def notes(self, who="alice", query=""):
        r, j = self.api("GET", "/api/v1/notifications" + query, who)
        self.assertEqual(r.status, 200, j)
        return j

    def clear(self, *who):
        for w in who:
            r, j = self.api("POST", "/api/v1/notifications/clear", w)
            self.assertEqual((r.status, j), (200, {}))

    def mention(self, author, to, visibility="public", reply_to=None):
        sid = next_id()
        return sid, envelope("status.created", sid, {
            "status": self.status(sid, author, visibility),
            "mentioned_account_ids": [self.uid(n) for n in to],
            "in_reply_to_account_id": self.uid(reply_to) if reply_to else None})

    def favourite(self, who, sid, author):
        return envelope("favourite.created", sid, {
            "favourite_id": next_id(), "account": self.acct(who),
            "status": self.status(sid, author)})

    def follow(self, who, target, type_="follow.created"):
        return envelope(type_, self.uid(target), {
            "follow_id": next_id(), "account": self.acct(who), "target": self.acct(target)})

    def unfollow(self, who, target, type_="follow.deleted", **extra):
        return envelope(type_, self.uid(target), dict({
            "follow_id": next_id(), "account_id": self.uid(who),
            "target_account_id": self.uid(target)}, **extra))

    def metric(self, name):
        r, data = self.notif.request("GET", "/metrics")
        m = re.search(r"^%s (\S+)$" % re.escape(name), data.decode(), re.M)
        return float(m.group(1)) if m else None

    # ---- tests ----

    def test_notifications_made_and_rendered_like_mastodon(self):
        self.clear("alice", "bob")
        sid, created = self.mention("bob", ["alice"])
        own = next_id()
        self.publish(created, self.favourite("carol", own, "alice"),
                     self.follow("dave", "alice"), self.follow("carol", "alice",
                                                                "follow_request.created"))
        j = self.notes()
        self.assertEqual([n["type"] for n in j],
                         ["follow_request", "follow", "favourite", "mention"])
        ids = [int(n["id"]) for n in j]
        self.assertEqual(ids, sorted(ids, reverse=True))
        for n in j:
            self.assertRegex(n["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertEqual(n["group_key"], "ungrouped-" + n["id"])
        mention, fav, follow = j[3], j[2], j[1]
        self.assertEqual(set(mention), {"id", "type", "created_at", "group_key", "account",
                                        "status"})
        self.assertEqual(mention["account"], self.acct("bob"))
        self.assertEqual(mention["status"]["id"], sid)
        self.assertEqual(fav["account"]["id"], self.uid("carol"))
        self.assertEqual(fav["status"]["id"], own)
        self.assertNotIn("status", follow)
        self.assertEqual(follow["account"]["username"], "dave")
        r, one = self.api("GET", "/api/v1/notifications/" + mention["id"])
        self.assertEqual((r.status, one), (200, mention))
        r, e = self.api("GET", "/api/v1/notifications/" + mention["id"], "bob")
        self.assertEqual((r.status, e), (404, {"error": "Record not found"}))
        r, e = self.api("GET", "/api/v1/notifications/nope")
        self.assertEqual(r.status, 404)
        self.assertEqual(self.notes("bob"), [], "the author of a mention is not notified")

    def test_removals_undo_what_events_made(self):
        self.clear("alice")
        sid, created = self.mention("bob", ["alice"])
        mine = next_id()
        self.publish(created, self.favourite("carol", mine, "alice"),
                     self.favourite("dave", mine, "alice"), self.follow("bob", "alice"),
                     self.follow("dave", "alice", "follow_request.created"))
        self.assertEqual(len(self.notes()), 5)
        self.publish(envelope("favourite.deleted", mine, {
            "favourite_id": next_id(), "account_id": self.uid("carol"), "status_id": mine,
            "status_account_id": self.uid("alice")}))
        self.assertEqual([n["account"]["username"] for n in self.notes("alice", "?types[]=favourite")],
                         ["dave"])
        self.publish(envelope("status.deleted", sid, {
            "status_id": sid, "account_id": self.uid("bob"), "visibility": "public"}))
        self.assertEqual(self.notes("alice", "?types[]=mention"), [])
        self.publish(self.unfollow("bob", "alice"),
                     self.unfollow("dave", "alice", "follow_request.deleted", accepted=True))
        self.assertEqual([n["type"] for n in self.notes()], ["favourite"])
        self.publish(envelope("status.deleted", mine, {
            "status_id": mine, "account_id": self.uid("alice"), "visibility": "public"}))
        self.assertEqual(self.notes(), [], "deleting a status removes its favourites")

    def test_own_actions_and_visibility(self):
        self.clear("alice", "bob", "carol")
        _, private_reply = self.mention("bob", ["carol"], "private", reply_to="alice")
        _, public_reply = self.mention("bob", [], "public", reply_to="alice")
        _, self_mention = self.mention("alice", ["alice"], "direct")
        mine = next_id()
        self.publish(private_reply, public_reply, self_mention,
                     self.favourite("alice", mine, "alice"))
        self.assertEqual(len(self.notes("alice")), 1, "only the public reply reaches alice")
        self.assertEqual([n["type"] for n in self.notes("carol")], ["mention"])

    def test_filters_paging_and_link_header(self):
        self.clear("dave")
        evs = [self.follow(w, "dave") for w in ("alice", "bob", "carol")]
        mine = next_id()
        evs += [self.favourite(w, mine, "dave") for w in ("alice", "bob")]
        self.publish(*evs)
        all_ = self.notes("dave")
        self.assertEqual(len(all_), 5)
        self.assertEqual(len(self.notes("dave", "?types[]=follow")), 3)
        self.assertEqual(len(self.notes("dave", "?types[]=follow&types[]=favourite")), 5)
        self.assertEqual(len(self.notes("dave", "?exclude_types[]=follow")), 2)
        self.assertEqual(self.notes("dave", "?types[]=reblog"), [])
        self.assertEqual(len(self.notes("dave", "?account_id=" + self.uid("bob"))), 2)

        r, page = self.api("GET", "/api/v1/notifications?limit=2&types[]=follow&types[]=favourite",
                           "dave")
        self.assertEqual([n["id"] for n in page], [n["id"] for n in all_[:2]])
        link = r.getheader("Link")
        m = re.fullmatch(r'<([^>]+)>; rel="next", <([^>]+)>; rel="prev"', link)
        self.assertIsNotNone(m, link)
        nxt, prev = m.group(1), m.group(2)
        self.assertTrue(nxt.startswith("https://threadly.example/api/v1/notifications?"), nxt)
        self.assertIn("max_id=" + all_[1]["id"], nxt)
        self.assertIn("min_id=" + all_[0]["id"], prev)
        self.assertIn("types[]=follow", urllib.parse.unquote(nxt))
        pages = [page]
        while r.getheader("Link"):
            path = urllib.parse.urlsplit(re.match(r"<([^>]+)>", r.getheader("Link")).group(1))
            r, page = self.api("GET", path.path + "?" + path.query, "dave")
            self.assertEqual(r.status, 200)
            pages.append(page)
        self.assertEqual([n["id"] for p in pages for n in p], [n["id"] for n in all_])
        self.assertEqual(pages[-1], [], "the walk ends on an empty page without Link")
        self.assertEqual([n["id"] for n in self.notes("dave", "?min_id=%s&limit=2" % all_[4]["id"])],
                         [all_[2]["id"], all_[3]["id"]])
        self.assertEqual([n["id"] for n in self.notes("dave", "?since_id=%s&limit=2" % all_[4]["id"])],
                         [all_[0]["id"], all_[1]["id"]])
        for bad in ("max_id=abc", "limit=x", "account_id=-1"):
            r, j = self.api("GET", "/api/v1/notifications?" + bad, "dave")
            self.assertEqual(r.status, 422, bad)
            self.assertIn("error", j)

    def test_dismiss_clear_unread_count_and_markers(self):
        self.clear("bob")
        mine = next_id()
        self.publish(*[self.favourite(w, mine, "bob") for w in ("alice", "carol", "dave")])
        j = self.notes("bob")
        r, c = self.api("GET", "/api/v1/notifications/unread_count", "bob")
        self.assertEqual((r.status, c), (200, {"count": 3}))
        r, m = self.api("GET", "/api/v1/markers?timeline[]=notifications", "bob")
        self.assertEqual((r.status, m), (200, {}))
        r, m = self.api("POST", "/api/v1/markers", "bob",
                        urllib.parse.urlencode({"notifications[last_read_id]": j[1]["id"]}), FORM)
        self.assertEqual(r.status, 200, m)
        self.assertEqual(set(m), {"notifications"})
        self.assertEqual(m["notifications"]["last_read_id"], j[1]["id"])
        self.assertEqual(m["notifications"]["version"], 1)
        self.assertRegex(m["notifications"]["updated_at"], r"^\d{4}-.*\.\d{3}Z$")
        r, c = self.api("GET", "/api/v1/notifications/unread_count", "bob")
        self.assertEqual(c, {"count": 1})
        r, c = self.api("GET", "/api/v1/notifications/unread_count?exclude_types[]=favourite",
                        "bob")
        self.assertEqual(c, {"count": 0})
        r, m = self.api("POST", "/api/v1/markers", "bob",
                        json.dumps({"notifications": {"last_read_id": j[0]["id"]}}), JSON)
        self.assertEqual(m["notifications"]["version"], 2)
        r, m = self.api("GET", "/api/v1/markers?timeline[]=notifications&timeline[]=home", "bob")
        self.assertEqual(list(m), ["notifications"])
        self.assertEqual(m["notifications"]["last_read_id"], j[0]["id"])
        r, m = self.api("GET", "/api/v1/markers", "bob")
        self.assertEqual(m, {}, "no timeline[] asked, nothing returned")
        r, e = self.api("POST", "/api/v1/markers", "bob",
                        urllib.parse.urlencode({"notifications[last_read_id]": "x"}), FORM)
        self.assertEqual(r.status, 422, e)
        r, c = self.api("GET", "/api/v1/notifications/unread_count", "bob")
        self.assertEqual(c, {"count": 0})

        r, e = self.api("POST", "/api/v1/notifications/%s/dismiss" % j[0]["id"], "alice")
        self.assertEqual((r.status, e), (404, {"error": "Record not found"}), "not alice's")
        r, e = self.api("POST", "/api/v1/notifications/%s/dismiss" % j[0]["id"], "bob")
        self.assertEqual((r.status, e), (200, {}))
        self.assertEqual([n["id"] for n in self.notes("bob")], [j[1]["id"], j[2]["id"]])
        r, e = self.api("POST", "/api/v1/notifications/%s/dismiss" % j[0]["id"], "bob")
        self.assertEqual(r.status, 404)
        # The pre-3.0 form, which Mastodon.py 1.8 may send.
        r, e = self.api("POST", "/api/v1/notifications/dismiss", "bob",
                        urllib.parse.urlencode({"id": j[1]["id"]}), FORM)
        self.assertEqual((r.status, e), (200, {}))
        self.assertEqual([n["id"] for n in self.notes("bob")], [j[2]["id"]])
        r, e = self.api("POST", "/api/v1/notifications/dismiss", "bob", "", FORM)
        self.assertEqual(r.status, 404)
        self.clear("bob")
        self.assertEqual(self.notes("bob"), [])

    def test_tokens_scopes_and_revocation(self):
        r, e = self.notif.json("GET", "/api/v1/notifications")
        self.assertEqual((r.status, e), (401, {"error": "The access token is invalid"}))
        self.assertIn("invalid_token", r.getheader("WWW-Authenticate"))
        for bad in ("garbage", "a.b.c", self.users["alice"]["token"][:-4] + "AAAA"):
            r, _ = self.api("GET", "/api/v1/notifications", token=bad)
            self.assertEqual(r.status, 401, bad)
        r, _ = self.notif.json("GET", "/api/v1/notifications?access_token=" +
                               self.users["alice"]["token"])
        self.assertEqual(r.status, 200, "access_token parameter")
        r, e = self.api("GET", "/api/v1/notifications", token=self.app_token())
        self.assertEqual((r.status, e["error"]), (422, "This method requires an authenticated user"))
        narrow = self.login("carol", "read:statuses write:statuses")
        r, e = self.api("GET", "/api/v1/notifications", token=narrow)
        self.assertEqual(r.status, 403, e)
        r, _ = self.api("GET", "/api/v1/markers?timeline[]=notifications", token=narrow)
        self.assertEqual(r.status, 200, "markers take read:statuses, as in Mastodon")
        granular = self.login("carol", "read:notifications")
        r, _ = self.api("GET", "/api/v1/notifications/unread_count", token=granular)
        self.assertEqual(r.status, 200)
        r, _ = self.api("POST", "/api/v1/notifications/clear", token=granular)
        self.assertEqual(r.status, 403, "clearing needs write:notifications")
        writer = self.login("carol", "read write:notifications")
        r, _ = self.api("POST", "/api/v1/notifications/clear", token=writer)
        self.assertEqual(r.status, 200)

        victim = self.login("carol", "read")
        payload = victim.split(".")[1]
        jti = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]
        r, _ = self.api("GET", "/api/v1/notifications", token=victim)
        self.assertEqual(r.status, 200)
        self.publish(envelope("token.revoked", self.uid("carol"), {
            "jti": jti, "account_id": self.uid("carol"),
            "revoked_at": "2026-11-24T01:02:03.000Z"}))
        r, e = self.api("GET", "/api/v1/notifications", token=victim)
        self.assertEqual((r.status, e), (401, {"error": "The access token is invalid"}))
        r, _ = self.api("GET", "/api/v1/notifications", "carol")
        self.assertEqual(r.status, 200, "other tokens of the account still work")
        self.assertEqual(self.feed.secrets, {SECRET}, "every feed request carried the secret")

    def test_replayed_events_make_no_duplicates(self):
        self.clear("carol")
        evs = [self.follow("alice", "carol"), self.favourite("bob", next_id(), "carol")]
        self.publish(*evs)
        before = self.notes("carol")
        self.assertEqual(len(before), 2)
        # The same envelopes again (an at-least-once transport delivering twice).
        self.publish(*evs)
        self.publish(*evs)
        self.assertEqual(self.notes("carol"), before)

    def test_processed_ids_are_pruned(self):
        """The ids of applied events are forgotten after --processed-events-retention-s; an
        event delivered again after that makes no second notification."""
        self.clear("dave")
        before = self.metric("notification_processed_events_pruned_total")
        evs = [self.follow("alice", "dave"), self.favourite("bob", next_id(), "dave")]
        self.publish(*evs)
        notes = self.notes("dave")
        self.assertEqual(len(notes), 2)
        deadline = time.monotonic() + 8
        while self.metric("notification_processed_events_pruned_total") < before + len(evs):
            self.assertLess(time.monotonic(), deadline, "the pruner deleted nothing")
            time.sleep(0.2)
        self.publish(*evs)
        self.assertEqual(self.notes("dave"), notes)
        self.assertEqual(self.metric("notification_processed_events_prune_errors_total"), 0)

    def dead_letters(self):
        if harness.PGSQL:
            return None
        db = sqlite3.connect(os.path.join(self.data, "notification", "notification.db"))
        try:
            return db.execute("SELECT text, reason FROM dead_letters ORDER BY id").fetchall()
        finally:
            db.close()

    def test_garbage_is_dead_lettered_and_the_consumer_goes_on(self):
        self.clear("alice")
        dead0 = self.metric("notification_events_dead_lettered_total")
        consumed0 = self.metric("notification_events_consumed_total")
        unknown_version = self.follow("bob", "alice")
        unknown_version["version"] = 2
        no_target = self.follow("bob", "alice")
        del no_target["data"]["target"]
        self.publish("not an envelope at all", RawText("[1,2,3]"),
                     envelope("poll.expired", "1", {}), unknown_version, no_target,
                     self.follow("carol", "alice"))
        self.assertEqual([n["account"]["username"] for n in self.notes()], ["carol"])
        self.assertEqual(self.metric("notification_events_dead_lettered_total") - dead0, 5)
        self.assertEqual(self.metric("notification_events_consumed_total") - consumed0, 1)
        self.assertEqual(self.metric("notification_consumer_lag_events"), 0)
        rows = self.dead_letters()
        if rows is not None:
            reasons = [reason for _, reason in rows[-5:]]
            self.assertEqual(rows[-5][0], "not an envelope at all")
            self.assertIn("not a JSON object", reasons[0])
            self.assertEqual(reasons[2], "unknown event type poll.expired version 1")
            self.assertEqual(reasons[3], "unknown event type follow.created version 2")
            self.assertEqual(reasons[4], 'data: "target" missing or not an object')

    def test_feed_down_makes_ready_503_and_recovers(self):
        r, j = self.notif.json("GET", "/ready")
        self.assertEqual(r.status, 200, j)
        self.clear("dave")
        port = self.feed.port
        self.feed.stop()
        try:
            deadline = time.time() + 10
            while time.time() < deadline:
                r, j = self.notif.json("GET", "/ready")
                if r.status == 503:
                    break
                time.sleep(0.1)
            self.assertEqual(r.status, 503, j)
            self.assertEqual(j["checks"]["event_feed"], "down")
            self.assertEqual(j["checks"]["database"], "ok")
            self.assertEqual(self.metric("notification_event_feed_up"), 0)
            r, _ = self.notif.request("GET", "/health")
            self.assertEqual(r.status, 200, "alive, just not ready")
        finally:
            old = self.feed
            self.__class__.feed = FakeFeed(port)
            self.feed.rows = old.rows
        seq = self.feed.publish(self.follow("alice", "dave"))
        self.feed.wait_consumed(seq)
        self.assertEqual([n["type"] for n in self.notes("dave")], ["follow"])
        r, j = self.notif.json("GET", "/ready")
        self.assertEqual(r.status, 200, j)
        # A malformed page is the feed's fault: nothing of it is applied or dead-lettered, the
        # cursor stays, /ready says so, and the consumer carries on once the feed is sane.
        dead0 = self.metric("notification_events_dead_lettered_total")
        consumed0 = self.metric("notification_events_consumed_total")
        cursor = self.feed.rows[-1][0]
        ok = json.dumps(self.follow("carol", "dave"))
        bad_pages = [
            b"<html>oops</html>",
            b'{"events":{},"last_seq":"1","head_seq":"1"}',
            ('{"events":[],"last_seq":"%d","head_seq":"x"}' % cursor).encode(),
            ('{"events":[],"last_seq":"%d","head_seq":"%d"}' % (cursor - 1, cursor)).encode(),
            ('{"events":[{"seq":"%d","event":%s},{"seq":"%d","event":%s}],"last_seq":"%d",'
             '"head_seq":"%d"}' % (cursor + 2, ok, cursor + 1, ok, cursor + 2,
                                   cursor + 2)).encode(),
            ('{"events":[{"seq":"%d"}],"last_seq":"%d","head_seq":"%d"}'
             % (cursor + 1, cursor + 1, cursor + 1)).encode(),
        ]
        for page in bad_pages:
            self.feed.override = page
            deadline = time.time() + 10
            while time.time() < deadline and self.notif.json("GET", "/ready")[0].status != 503:
                time.sleep(0.05)
            r, j = self.notif.json("GET", "/ready")
            self.assertEqual((r.status, j["checks"]["event_feed"]), (503, "down"), page)
            self.feed.override = None
            deadline = time.time() + 10
            while time.time() < deadline and self.notif.json("GET", "/ready")[0].status != 200:
                time.sleep(0.05)
        self.assertEqual(len(self.notes("dave")), 1)
        self.publish(self.follow("bob", "dave"))
        self.assertEqual(len(self.notes("dave")), 2)
        self.assertEqual(self.metric("notification_events_dead_lettered_total"), dead0)
        self.assertEqual(self.metric("notification_events_consumed_total") - consumed0, 1)


class StartupTest(unittest.TestCase):
    def test_public_key_may_appear_after_start_or_change_and_events_off(self):
        data = tempfile.mkdtemp(prefix="threadly-notif-key-")
        try:
            args = ["--events-url", "off"]
            if harness.PGSQL:
                args += ["--db", harness.pg_database_for(data + "/notification")]
            notif = Service(NOTIF, *args, data_dir=data)
            try:
                r, j = notif.json("GET", "/ready")
                self.assertEqual(r.status, 503)
                self.assertEqual(j["checks"]["jwt_public_key"], "down")
                self.assertNotIn("event_feed", j["checks"])
                r, _ = notif.json("GET", "/api/v1/notifications",
                                  headers={"Authorization": "Bearer x.y.z"})
                self.assertEqual(r.status, 503)
                core = Service(CORE, *FAST, data_dir=data)  # creates the key pair
                try:
                    time.sleep(0.6)
                    r, j = notif.json("GET", "/ready")
                    self.assertEqual(r.status, 200, j)
                    old = self.user_token(core)
                    r, _ = notif.json("GET", "/api/v1/notifications", headers=old)
                    self.assertEqual(r.status, 200)
                finally:
                    self.assertEqual(core.terminate(), 0)
                # A new key pair (the old one lost): picked up without a restart.
                for suffix in ("", ".pub"):
                    os.unlink(os.path.join(data, "threadly", "jwt-ed25519.key" + suffix))
                core = Service(CORE, *FAST, data_dir=data)
                try:
                    new = self.user_token(core, "bob")
                    deadline = time.time() + 10
                    while notif.json("GET", "/api/v1/notifications", headers=new)[0].status != 200:
                        self.assertLess(time.time(), deadline, "the new key was not picked up")
                        time.sleep(0.2)
                    r, _ = notif.json("GET", "/api/v1/notifications", headers=old)
                    self.assertEqual(r.status, 401, "tokens of the old key are refused")
                finally:
                    self.assertEqual(core.terminate(), 0)
            finally:
                self.assertEqual(notif.terminate(), 0, notif.log_text())
        finally:
            shutil.rmtree(data, ignore_errors=True)

    def user_token(self, core, name="alice"):
        r, app = core.json("POST", "/api/v1/apps", json.dumps({
            "client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write"}), JSON)
        r, t = core.json("POST", "/oauth/token", urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "scope": "read write"}), FORM)
        r, j = core.json("POST", "/api/v1/accounts", urllib.parse.urlencode({
            "username": name, "email": name + "@example.org", "password": "correct horse battery",
            "agreement": "1", "locale": "en"}), dict(FORM, Authorization="Bearer " +
                                                     t["access_token"]))
        self.assertEqual(r.status, 200, j)
        return {"Authorization": "Bearer " + j["access_token"]}

    def test_bad_flags_are_refused(self):
        import subprocess
        for argv, needle in ((["--events-url", "ftp://x"], "--events-url"),
                             (["--db", "mysql://x"], "--db"),
                             (["--events-wait", "99"], "events-wait"),
                             (["--processed-events-retention-s", "-1"],
                              "processed-events-retention-s"),
                             (["--processed-events-prune-interval-s", "0"],
                              "processed-events-prune-interval-s")):
            p = subprocess.run([NOTIF, "--data-dir", "/tmp/threadly-notif-badconf"] + argv,
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 2, argv)
            self.assertIn(needle, p.stderr, argv)


if __name__ == "__main__":
    unittest.main()
