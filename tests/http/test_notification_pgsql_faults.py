"""test_notification_pgsql_faults.py - notification-service on PostgreSQL when the database goes
away and comes back: /ready says "database":"down", the API answers 503 with Mastodon's error
JSON, the consumer keeps the batch it could not store (nothing dead-lettered, the cursor does not
move) and stores it once PostgreSQL is back, without a restart. Runs its own cluster
(scripts/pg, port THREADLY_TEST_NOTIF_PG_FAULT_PORT, default 15434)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from fakefeed import FakeFeed, envelope, next_id
from harness import Service

CORE = os.environ["THREADLY_CORE_BIN"]
NOTIF = os.environ["THREADLY_NOTIFICATION_BIN"]
SRC = os.environ.get("THREADLY_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PG = os.path.join(SRC, "scripts", "pg")
PORT = os.environ.get("THREADLY_TEST_NOTIF_PG_FAULT_PORT", "15434")
INITDB = "/usr/lib/postgresql/15/bin/initdb"


def required():
    return "pgsql" in [p.strip() for p in os.environ.get("TEST_REQUIRE", "").split(",")]


def pg(*args):
    p = subprocess.run([PG, *args], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("scripts/pg %s: %s" % (" ".join(args), p.stderr))
    return p.stdout.strip()


class NotificationPgsqlFaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="threadly-notif-pgfault-")
        cls.url = pg("start", cls.dir, PORT)
        cls.data = os.path.join(cls.dir, "data")
        cls.core = Service(CORE, "--argon2-ops", "1", "--argon2-mem-kib", "8",
                           data_dir=cls.data)
        cls.feed = FakeFeed()
        cls.notif = Service(NOTIF, "--db", cls.url, "--events-url", cls.feed.url(),
                            "--events-wait", "1", "--events-backoff-max-ms", "200",
                            "--threads", "4",
                            # The processed-ids pruner every second: it meets the database down.
                            "--processed-events-prune-interval-s", "1", data_dir=cls.data)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.notif.terminate()
            cls.core.terminate()
            cls.feed.stop()
            pg("stop", cls.dir)
        finally:
            shutil.rmtree(cls.dir, ignore_errors=True)

    def token(self):
        import json
        import urllib.parse
        r, app = self.core.json("POST", "/api/v1/apps", json.dumps({
            "client_name": "f", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write"}), {"Content-Type": "application/json"})
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        r, t = self.core.json("POST", "/oauth/token", urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "scope": "read write"}), form)
        r, tok = self.core.json("POST", "/api/v1/accounts", urllib.parse.urlencode({
            "username": "alice", "email": "alice@example.org", "password": "correct horse battery",
            "agreement": "1", "locale": "en"}), dict(form, Authorization="Bearer " +
                                                     t["access_token"]))
        self.assertEqual(r.status, 200, tok)
        r, me = self.core.json("GET", "/api/v1/accounts/verify_credentials",
                               headers={"Authorization": "Bearer " + tok["access_token"]})
        return tok["access_token"], me

    def wait(self, pred, timeout=20):
        deadline = time.time() + timeout
        while not pred():
            if time.time() > deadline:
                return False
            time.sleep(0.1)
        return True

    def test_database_down_then_back(self):
        token, me = self.token()
        auth = {"Authorization": "Bearer " + token}

        def follow(n):
            return envelope("follow.created", me["id"], {
                "follow_id": next_id(), "account": dict(me, id=str(9000 + n), username="f%d" % n),
                "target": me})

        def notes():
            return self.notif.json("GET", "/api/v1/notifications", headers=auth)

        def metric(name):
            text = self.notif.request("GET", "/metrics")[1].decode()
            return float(re.search(r"^%s (\S+)$" % re.escape(name), text, re.M).group(1))

        def dead():
            return metric("notification_events_dead_lettered_total")

        def prune_errors():
            return metric("notification_processed_events_prune_errors_total")

        self.feed.wait_consumed(self.feed.publish(follow(1)))
        r, j = notes()
        self.assertEqual((r.status, len(j)), (200, 1), j)
        pid = self.notif.proc.pid

        pg("stop", self.dir)
        self.assertTrue(self.wait(lambda: self.notif.json("GET", "/ready")[0].status == 503))
        r, j = self.notif.json("GET", "/ready")
        self.assertEqual(j["checks"]["database"], "down")
        r, j = notes()
        self.assertEqual(r.status, 503, j)
        self.assertIsInstance(j.get("error"), str)
        seq = self.feed.publish(follow(2), follow(3))
        time.sleep(1.5)  # the consumer fetches the batch and fails to store it, again and again
        self.assertFalse(any(a >= seq for a in self.feed.afters), "the cursor must not move")
        self.assertIsNone(self.notif.proc.poll(), "the service exited")
        # The processed-ids pruner's passes fail, are counted, and the service goes on.
        self.assertTrue(self.wait(lambda: prune_errors() >= 1, timeout=10))
        self.assertIsNone(self.notif.proc.poll(), "the service exited")

        self.assertEqual(pg("start", self.dir, PORT), self.url)
        self.feed.wait_consumed(seq, timeout=30)
        self.assertTrue(self.wait(lambda: self.notif.json("GET", "/ready")[0].status == 200))
        r, j = notes()
        self.assertEqual((r.status, len(j)), (200, 3), j)
        self.assertEqual(dead(), 0)
        self.assertEqual(self.notif.proc.pid, pid)
        # ...and its passes succeed again (one a second: no new failure in 2.5 s).
        failed = prune_errors()
        time.sleep(2.5)
        self.assertEqual(prune_errors(), failed)


if __name__ == "__main__":
    if not os.access(INITDB, os.X_OK):
        if required():
            print("FAIL: TEST_REQUIRE names pgsql but %s is missing" % INITDB, file=sys.stderr)
            sys.exit(1)
        print("SKIP: PostgreSQL 15 is not installed (scripts/setup --test installs it)",
              file=sys.stderr)
        sys.exit(0)
    unittest.main()
