"""test_events_feed.py - the transactional outbox seen through GET /internal/v1/events
(docs/events.md) on the real threadly-service: the exact events the public API's changes make,
in order, with their keys and payloads; the long poll (woken by a commit in this process, by a
commit of another process on the same database, or ending empty); parameters; access control;
and durability of acknowledged writes across kill -9. SQLite by default, PostgreSQL with
THREADLY_TEST_DB=pgsql (see harness.py)."""
import http.client
import json
import os
import socket
import threading
import time
import unittest
import urllib.parse

import sqlite3

from harness import PGSQL, Service, metric, pg_database_for, psql

CORE = os.environ["THREADLY_CORE_BIN"]
ARGS = ("--argon2-ops", "1", "--argon2-mem-kib", "8", "--signup-limit", "1000",
        "--login-limit", "1000", "--public-url", "http://threadly.test")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
ENVELOPE_KEYS = {"id", "type", "version", "occurred_at", "producer", "key", "data"}


def feed(svc, after=0, limit=None, wait=None, headers=None, timeout=40):
    """GET /internal/v1/events; returns (response, parsed body)."""
    q = {"after": after}
    if limit is not None:
        q["limit"] = limit
    if wait is not None:
        q["wait"] = wait
    return _get(svc, q, headers, timeout)


def _get(svc, q, headers, timeout):
    c = svc.conn(timeout=timeout)
    try:
        c.request("GET", "/internal/v1/events?" + urllib.parse.urlencode(q),
                  headers=headers or {})
        r = c.getresponse()
        return r, json.loads(r.read())
    finally:
        c.close()


def head_seq(svc):
    r, j = feed(svc, after=0, limit=1)
    assert r.status == 200, j
    return int(j["head_seq"])


class Client:
    """An app and its users on one server."""

    def __init__(self, svc):
        self.svc = svc
        r, app = svc.json("POST", "/api/v1/apps", json.dumps({
            "client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write follow"}), JSON)
        assert r.status == 200, app
        self.app = app
        r, j = svc.json("POST", "/oauth/token", urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "scope": "read write"}), FORM)
        self.app_token = j["access_token"]
        self.tokens, self.ids = {}, {}

    def sign_up(self, name, locale="en"):
        r, j = self.svc.json("POST", "/api/v1/accounts", urllib.parse.urlencode({
            "username": name, "email": name + "@example.org", "password": "long password",
            "agreement": "1", "locale": locale}),
            dict(FORM, Authorization="Bearer " + self.app_token))
        assert r.status == 200, j
        self.tokens[name] = j["access_token"]
        r, me = self.call(name, "GET", "/api/v1/accounts/verify_credentials")
        self.ids[name] = me["id"]
        return me["id"]

    def call(self, who, method, path, body=None):
        headers = {"Authorization": "Bearer " + self.tokens[who]} if who else {}
        if body is not None:
            headers.update(JSON)
            body = json.dumps(body)
        return self.svc.json(method, path, body, headers)

    def ok(self, who, method, path, body=None):
        r, j = self.call(who, method, path, body)
        assert r.status == 200, (path, r.status, j)
        return j


def local_non_loopback_ip():
    """An address of this machine that is not loopback, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("10.255.255.255", 1))
        ip = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if ip.startswith("127.") else ip


class EventsFeedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service(CORE, *ARGS)

    @classmethod
    def tearDownClass(cls):
        assert cls.svc.terminate() == 0, cls.svc.log_text()

    def new_events(self, after):
        r, j = feed(self.svc, after=after, limit=1000)
        self.assertEqual(r.status, 200, j)
        return j

    def test_public_api_changes_make_the_contract_events_in_order(self):
        svc = self.svc
        start = head_seq(svc)
        c = Client(svc)
        alice = c.sign_up("ev_alice")
        bob = c.sign_up("ev_bob", locale="fr")
        c.ok("ev_bob", "PATCH", "/api/v1/accounts/update_credentials", {"locked": True})
        post = c.ok("ev_alice", "POST", "/api/v1/statuses", {"status": "hello"})
        reply = c.ok("ev_bob", "POST", "/api/v1/statuses", {
            "status": "@ev_alice @nobody @ev_alice hi", "in_reply_to_id": post["id"]})
        c.ok("ev_bob", "POST", "/api/v1/statuses/%s/favourite" % post["id"])
        c.ok("ev_bob", "POST", "/api/v1/statuses/%s/favourite" % post["id"])  # repeat
        c.ok("ev_bob", "POST", "/api/v1/statuses/%s/unfavourite" % post["id"])
        c.ok("ev_bob", "POST", "/api/v1/statuses/%s/unfavourite" % post["id"])  # repeat
        c.ok("ev_alice", "POST", "/api/v1/accounts/%s/follow" % bob)
        c.ok("ev_alice", "POST", "/api/v1/accounts/%s/follow" % bob)  # repeat
        c.ok("ev_bob", "POST", "/api/v1/follow_requests/%s/authorize" % alice)
        c.ok("ev_alice", "POST", "/api/v1/accounts/%s/unfollow" % bob)
        c.ok("ev_alice", "POST", "/api/v1/accounts/%s/unfollow" % bob)  # repeat
        c.ok("ev_bob", "DELETE", "/api/v1/statuses/" + reply["id"])
        # Refused changes make nothing.
        r, _ = c.call("ev_alice", "DELETE", "/api/v1/statuses/" + post["id"] + "0")
        self.assertEqual(r.status, 404)
        r, _ = c.call("ev_alice", "POST", "/api/v1/statuses", {"status": ""})
        self.assertEqual(r.status, 422)
        for _ in range(2):  # the second revocation is a repeat
            r, j = svc.json("POST", "/oauth/revoke", urllib.parse.urlencode({
                "client_id": c.app["client_id"], "client_secret": c.app["client_secret"],
                "token": c.tokens["ev_alice"]}), FORM)
            self.assertEqual(r.status, 200, j)

        page = self.new_events(start)
        got = [(e["event"]["type"], e["event"]["key"]) for e in page["events"]]
        self.assertEqual(got, [
            ("account.created", alice),
            ("account.created", bob),
            ("account.updated", bob),
            ("status.created", post["id"]),
            ("status.created", reply["id"]),
            ("favourite.created", post["id"]),
            ("favourite.deleted", post["id"]),
            ("follow_request.created", bob),
            ("follow_request.deleted", bob),
            ("follow.created", bob),
            ("follow.deleted", bob),
            ("status.deleted", reply["id"]),
            ("token.revoked", alice),
        ])
        seqs = [int(e["seq"]) for e in page["events"]]
        self.assertEqual(seqs, list(range(start + 1, start + 1 + len(seqs))))
        self.assertEqual(page["last_seq"], str(seqs[-1]))
        self.assertEqual(page["head_seq"], str(seqs[-1]))
        ev = [e["event"] for e in page["events"]]
        d = [e["data"] for e in ev]
        for e in ev:
            self.assertEqual(set(e), ENVELOPE_KEYS)
            self.assertEqual((e["producer"], e["version"]), ("threadly-service", 1))
            self.assertRegex(e["id"], r"^[1-9][0-9]*$")
            self.assertRegex(e["occurred_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(len({e["id"] for e in ev}), len(ev), "event ids are unique")

        # account.created / updated: the Account entity as GET /api/v1/accounts/:id renders it.
        self.assertEqual((d[0]["email"], d[0]["locale"]), ("ev_alice@example.org", "en"))
        self.assertEqual(d[1]["locale"], "fr")
        self.assertEqual(d[0]["account"]["username"], "ev_alice")
        self.assertTrue(d[2]["account"]["locked"])
        r, bob_now = svc.json("GET", "/api/v1/accounts/" + bob)
        snap = dict(d[2]["account"])
        self.assertEqual(set(snap), set(bob_now))
        # status.created: the Status entity of GET /api/v1/statuses/:id at the time.
        r, post_now = svc.json("GET", "/api/v1/statuses/" + post["id"])
        self.assertEqual(set(d[3]["status"]), set(post_now))
        self.assertEqual(d[3]["status"]["content"], post_now["content"])
        self.assertEqual(d[3]["status"]["account"]["statuses_count"], 1)
        self.assertEqual((d[3]["mentioned_account_ids"], d[3]["in_reply_to_account_id"]),
                         ([], None))
        self.assertEqual(d[4]["mentioned_account_ids"], [alice])
        self.assertEqual(d[4]["in_reply_to_account_id"], alice)
        self.assertEqual(d[4]["status"]["in_reply_to_id"], post["id"])
        self.assertEqual([m["id"] for m in d[4]["status"]["mentions"]], [alice])
        # favourites
        self.assertEqual(d[5]["account"]["id"], bob)
        self.assertEqual(d[5]["status"]["id"], post["id"])
        self.assertEqual(d[5]["status"]["favourites_count"], 1)
        self.assertFalse(d[5]["status"]["favourited"])
        self.assertEqual(d[6], {"favourite_id": d[5]["favourite_id"], "account_id": bob,
                                "status_id": post["id"], "status_account_id": alice})
        # follows: the request, its acceptance (two events), the unfollow
        fid = d[7]["follow_id"]
        self.assertEqual((d[7]["account"]["id"], d[7]["target"]["id"]), (alice, bob))
        self.assertEqual(d[8], {"follow_id": fid, "account_id": alice, "target_account_id": bob,
                                "accepted": True})
        self.assertEqual((d[9]["follow_id"], d[9]["account"]["id"], d[9]["target"]["id"]),
                         (fid, alice, bob))
        self.assertEqual(d[9]["target"]["followers_count"], 1)
        self.assertEqual(d[9]["account"]["following_count"], 1)
        self.assertEqual(d[10], {"follow_id": fid, "account_id": alice, "target_account_id": bob})
        self.assertEqual(d[11], {"status_id": reply["id"], "account_id": bob,
                                 "visibility": "public", "mentioned_account_ids": [alice],
                                 "in_reply_to_id": post["id"]})
        self.assertEqual((d[12]["account_id"], set(d[12])), (alice, {"jti", "account_id",
                                                                     "revoked_at"}))
        self.assertRegex(d[12]["jti"], r"^[1-9][0-9]*$")

        # Pages: limit and after.
        r, j = feed(svc, after=start, limit=2)
        self.assertEqual([e["seq"] for e in j["events"]], [str(start + 1), str(start + 2)])
        self.assertEqual(j["last_seq"], str(start + 2))
        r, j = feed(svc, after=seqs[-1])
        self.assertEqual((j["events"], j["last_seq"]), ([], str(seqs[-1])))

    def test_reject_is_a_request_deleted_not_accepted(self):
        c = Client(self.svc)
        carol = c.sign_up("ev_carol")
        c.sign_up("ev_dave")
        c.ok("ev_carol", "PATCH", "/api/v1/accounts/update_credentials", {"locked": True})
        start = head_seq(self.svc)
        c.ok("ev_dave", "POST", "/api/v1/accounts/%s/follow" % carol)
        c.ok("ev_carol", "POST", "/api/v1/follow_requests/%s/reject" % c.ids["ev_dave"])
        page = self.new_events(start)
        self.assertEqual([e["event"]["type"] for e in page["events"]],
                         ["follow_request.created", "follow_request.deleted"])
        self.assertIs(page["events"][1]["event"]["data"]["accepted"], False)

    def test_long_poll_wakes_on_a_commit(self):
        c = Client(self.svc)
        c.sign_up("ev_poller")
        after = head_seq(self.svc)
        result = {}

        def poll():
            result["r"] = _get(self.svc, {"after": after, "wait": 10}, None, 20)
            result["at"] = time.monotonic()

        th = threading.Thread(target=poll)
        th.start()
        time.sleep(0.5)
        self.assertTrue(th.is_alive(), "the poll answered before anything happened")
        s = c.ok("ev_poller", "POST", "/api/v1/statuses", {"status": "wake up"})
        posted = time.monotonic()
        th.join(15)
        r, j = result["r"]
        self.assertEqual(r.status, 200)
        self.assertLess(result["at"] - posted, 1.0, "answered within 1 s of the post")
        self.assertEqual([(e["event"]["type"], e["event"]["key"]) for e in j["events"]],
                         [("status.created", s["id"])])

    def test_long_poll_ends_empty_after_wait(self):
        after = head_seq(self.svc)
        t0 = time.monotonic()
        r, j = _get(self.svc, {"after": after, "wait": 1}, None, 10)
        took = time.monotonic() - t0
        self.assertEqual(r.status, 200)
        self.assertEqual(j, {"events": [], "last_seq": str(after), "head_seq": str(after)})
        self.assertGreaterEqual(took, 0.95)
        self.assertLess(took, 2.0)

    def test_long_poll_sees_another_process_on_the_same_database(self):
        other = Service(CORE, *ARGS, data_dir=self.svc.data_dir)
        try:
            c = Client(other)
            c.sign_up("ev_elsewhere")
            after = head_seq(self.svc)
            result = {}

            def poll():
                result["r"] = _get(self.svc, {"after": after, "wait": 10}, None, 20)
                result["at"] = time.monotonic()

            th = threading.Thread(target=poll)
            th.start()
            time.sleep(0.3)
            s = c.ok("ev_elsewhere", "POST", "/api/v1/statuses", {"status": "from afar"})
            posted = time.monotonic()
            th.join(15)
            r, j = result["r"]
            self.assertEqual(r.status, 200)
            self.assertLess(result["at"] - posted, 2.0, "seen by the once-a-second check")
            self.assertEqual([e["event"]["key"] for e in j["events"]], [s["id"]])
        finally:
            self.assertEqual(other.terminate(), 0)

    def test_many_waiters_do_not_hold_threads(self):
        # More waiting polls than HTTP threads and blocking workers: the API still answers.
        after = head_seq(self.svc)
        threads = [threading.Thread(target=_get, args=(self.svc, {"after": after, "wait": 3},
                                                       None, 10)) for _ in range(12)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        r, j = self.svc.json("GET", "/api/v1/instance")
        self.assertEqual(r.status, 200)
        self.assertLess(time.monotonic() - t0, 1.0)
        for t in threads:
            t.join(10)

    def test_bad_parameters_are_400(self):
        for q in ("after=-1", "after=x", "after=", "after=1.5", "after=99999999999999999999",
                  "limit=0", "limit=1001", "limit=ten", "wait=31", "wait=-1", "wait=1s",
                  "after=1&limit=+5"):
            r, j = self.svc.json("GET", "/internal/v1/events?" + q)
            self.assertEqual(r.status, 400, q)
            self.assertIn("error", j)
        r, j = self.svc.json("GET", "/internal/v1/events?limit=1000&wait=0&after=0")
        self.assertEqual(r.status, 200)

    def test_proxied_requests_are_refused(self):
        for h in ({"X-Forwarded-For": "203.0.113.9"}, {"X-Real-IP": "203.0.113.9"}):
            r, j = self.svc.json("GET", "/internal/v1/events", headers=h)
            self.assertEqual((r.status, j), (404, {"error": "Record not found"}), h)

    def test_non_loopback_peers_are_refused(self):
        ip = local_non_loopback_ip()
        if ip is None:
            self.skipTest("no non-loopback address on this machine")
        svc = Service(CORE, *ARGS, "--bind", "0.0.0.0")
        try:
            c = http.client.HTTPConnection(ip, svc.port, timeout=10)
            c.request("GET", "/internal/v1/events")
            r = c.getresponse()
            self.assertEqual((r.status, json.loads(r.read())), (404, {"error": "Record not found"}))
            c.close()
            r, j = svc.json("GET", "/internal/v1/events")
            self.assertEqual(r.status, 200)
        finally:
            self.assertEqual(svc.terminate(), 0)

    def test_secret_is_enforced_when_set(self):
        svc = Service(CORE, *ARGS, env={"THREADLY_INTERNAL_SECRET": "s3cr3t-value"})
        try:
            for h in ({}, {"X-Threadly-Internal-Secret": "wrong"},
                      {"X-Threadly-Internal-Secret": "s3cr3t-valu"},
                      {"X-Threadly-Internal-Secret": "s3cr3t-value2"}):
                r, j = svc.json("GET", "/internal/v1/events", headers=h)
                self.assertEqual(r.status, 404, h)
            r, j = svc.json("GET", "/internal/v1/events",
                            headers={"X-Threadly-Internal-Secret": "s3cr3t-value"})
            self.assertEqual(r.status, 200, j)
            # With the secret, a proxied request is let through: the secret is the credential.
            r, j = svc.json("GET", "/internal/v1/events", headers={
                "X-Threadly-Internal-Secret": "s3cr3t-value", "X-Forwarded-For": "10.0.0.1"})
            self.assertEqual(r.status, 200, j)
        finally:
            self.assertEqual(svc.terminate(), 0)
        svc = Service(CORE, *ARGS, "--internal-secret", "flag-secret")
        try:
            r, _ = svc.json("GET", "/internal/v1/events")
            self.assertEqual(r.status, 404)
            r, _ = svc.json("GET", "/internal/v1/events",
                            headers={"X-Threadly-Internal-Secret": "flag-secret"})
            self.assertEqual(r.status, 200)
        finally:
            self.assertEqual(svc.terminate(), 0)

    def test_shutdown_answers_waiting_polls(self):
        svc = Service(CORE, *ARGS)
        result = {}

        def poll():
            result["r"] = _get(svc, {"after": 0, "wait": 30}, None, 40)

        th = threading.Thread(target=poll)
        th.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        self.assertEqual(svc.terminate(), 0)
        th.join(10)
        self.assertLess(time.monotonic() - t0, 3.0)
        r, j = result["r"]
        self.assertEqual((r.status, j["events"]), (200, []))


class DurabilityTest(unittest.TestCase):
    def test_acknowledged_write_survives_kill_9(self):
        svc = Service(CORE, *ARGS)
        c = Client(svc)
        c.sign_up("ev_durable")
        s = c.ok("ev_durable", "POST", "/api/v1/statuses", {"status": "keep me"})
        svc.kill()  # SIGKILL right after the 200
        again = Service(CORE, *ARGS, data_dir=svc.data_dir)
        try:
            r, j = feed(again, after=0, limit=1000)
            self.assertEqual(r.status, 200)
            keys = [(e["event"]["type"], e["event"]["key"]) for e in j["events"]]
            self.assertIn(("status.created", s["id"]), keys)
            self.assertEqual(keys[-1], ("status.created", s["id"]))
        finally:
            self.assertEqual(again.terminate(), 0)


def age_outbox_rows(svc, upto_seq):
    """Makes the outbox rows with seq <= upto_seq look a year old, on either engine."""
    sql = "UPDATE outbox SET occurred_at_ms = 1000 WHERE seq > 0 AND seq <= %d" % upto_seq
    if PGSQL:
        psql(pg_database_for(svc.data_dir), sql)
    else:
        db = sqlite3.connect(os.path.join(svc.data_dir, "threadly", "threadly.db"), timeout=10)
        with db:
            db.execute(sql)
        db.close()


class RetentionTest(unittest.TestCase):
    def test_rows_older_than_the_retention_are_pruned_and_seqs_go_on(self):
        svc = Service(CORE, *ARGS, "--outbox-prune-interval-s", "1")
        try:
            c = Client(svc)
            c.sign_up("ev_old")
            for i in range(3):
                c.ok("ev_old", "POST", "/api/v1/statuses", {"status": "old %d" % i})
            head = head_seq(svc)
            self.assertGreaterEqual(head, 4)
            age_outbox_rows(svc, head)  # every row, the newest included
            deadline = time.time() + 10
            while (time.time() < deadline
                   and (metric(svc, "threadly_outbox_pruned_total") or 0) < head - 1):
                time.sleep(0.2)
            self.assertEqual(metric(svc, "threadly_outbox_pruned_total"), head - 1, svc.log_text())
            r, j = feed(svc, after=0, limit=1000)
            self.assertEqual([int(e["seq"]) for e in j["events"]], [head],
                             "only the newest row stays, with its seq")
            s = c.ok("ev_old", "POST", "/api/v1/statuses", {"status": "new"})
            r, j = feed(svc, after=head, limit=1000)
            self.assertEqual([(int(e["seq"]), e["event"]["key"]) for e in j["events"]],
                             [(head + 1, s["id"])], "seqs are not reused after a prune")
        finally:
            self.assertEqual(svc.terminate(), 0)

    def test_retention_zero_keeps_everything(self):
        svc = Service(CORE, *ARGS, "--outbox-prune-interval-s", "1",
                      "--outbox-retention-hours", "0")
        try:
            c = Client(svc)
            c.sign_up("ev_keep")
            c.ok("ev_keep", "POST", "/api/v1/statuses", {"status": "kept"})
            head = head_seq(svc)
            age_outbox_rows(svc, head)
            time.sleep(2.5)
            r, j = feed(svc, after=0, limit=1000)
            self.assertEqual(len(j["events"]), head)
            self.assertIsNone(metric(svc, "threadly_outbox_pruned_total"))
        finally:
            self.assertEqual(svc.terminate(), 0)


if __name__ == "__main__":
    unittest.main()
