"""test_clients_notifications.py - notification-service driven by a client we did not write:
Mastodon.py 1.8 reads, pages (Link headers), dismisses and clears notifications and saves
markers. The notifications come from events of a fake outbox feed (tests/http/fakefeed.py);
the tokens from the real threadly-service. Run with Debian's /usr/bin/python3."""
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "http"))
from fakefeed import FakeFeed, envelope, next_id  # noqa: E402
from harness import Service  # noqa: E402

from mastodon import Mastodon  # noqa: E402
from mastodon.errors import MastodonNotFoundError, MastodonUnauthorizedError  # noqa: E402

CORE = os.environ["THREADLY_CORE_BIN"]
NOTIF = os.environ["THREADLY_NOTIFICATION_BIN"]


class NotificationClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.data = tempfile.mkdtemp(prefix="threadly-e2e-notif-")
        cls.core = Service(CORE, "--argon2-ops", "1", "--argon2-mem-kib", "8",
                           "--signup-limit", "1000", "--login-limit", "1000", data_dir=cls.data)
        cls.feed = FakeFeed()
        cls.notif = Service(NOTIF, "--events-url", cls.feed.url(), "--events-wait", "1",
                            data_dir=cls.data)
        base = "http://127.0.0.1:%d" % cls.core.port
        cid, secret = Mastodon.create_app("e2e", api_base_url=base,
                                          scopes=["read", "write", "follow", "push"])
        cls.accounts, cls.clients = {}, {}
        for name in ("alice", "bob"):
            m = Mastodon(client_id=cid, client_secret=secret, api_base_url=base)
            token = m.create_account(name, "correct horse battery", name + "@example.org",
                                     agreement=True, locale="en")
            # The wire form (Mastodon.py turns ids into ints and times into datetimes).
            r, me = cls.core.json("GET", "/api/v1/accounts/verify_credentials",
                                  headers={"Authorization": "Bearer " + token})
            assert r.status == 200, me
            me.pop("source", None)
            cls.accounts[name] = me
            cls.clients[name] = Mastodon(access_token=token,
                                         api_base_url="http://127.0.0.1:%d" % cls.notif.port,
                                         mastodon_version="4.2.0", version_check_mode="none")

    @classmethod
    def tearDownClass(cls):
        try:
            assert cls.notif.terminate() == 0, cls.notif.log_text()
            assert cls.core.terminate() == 0, cls.core.log_text()
        finally:
            cls.feed.stop()
            shutil.rmtree(cls.data, ignore_errors=True)

    def account(self, name):
        return self.accounts[name]

    def test_mastodon_py(self):
        alice = self.clients["alice"]
        sid = next_id()
        status = {"id": sid, "visibility": "public", "content": "<p>@alice hi</p>",
                  "created_at": "2026-11-24T01:02:03.000Z", "account": self.account("bob")}
        seq = self.feed.publish(
            envelope("status.created", sid, {"status": status,
                                              "mentioned_account_ids": [self.accounts["alice"]["id"]],
                                              "in_reply_to_account_id": None}),
            *[envelope("favourite.created", s, {"favourite_id": next_id(),
                                                 "account": self.account("bob"),
                                                 "status": dict(status, id=s,
                                                                account=self.account("alice"))})
              for s in (next_id(), next_id(), next_id())])
        self.feed.wait_consumed(seq)

        every = alice.notifications()
        self.assertEqual([n.type for n in every], ["favourite"] * 3 + ["mention"])
        self.assertEqual(str(every[-1].status.id), sid)
        self.assertEqual(every[-1].account.username, "bob")
        self.assertEqual(every[-1].created_at.year, 2026)
        page = alice.notifications(limit=2)
        older = alice.fetch_next(page)
        self.assertEqual([n.id for n in page + older], [n.id for n in every])
        self.assertEqual([n.id for n in alice.fetch_previous(older)], [n.id for n in page])
        self.assertEqual([n.type for n in alice.notifications(types=["mention"])], ["mention"])
        self.assertEqual(len(alice.notifications(exclude_types=["mention"])), 3)
        self.assertEqual(alice.notifications(id=every[0].id).id, every[0].id)

        marker = alice.markers_set(["notifications"], [every[1].id])
        self.assertEqual(marker.notifications.last_read_id, every[1].id)
        self.assertEqual(alice.markers_get(["notifications"]).notifications.version, 1)

        alice.notifications_dismiss(every[0].id)
        with self.assertRaises(MastodonNotFoundError):
            alice.notifications(id=every[0].id)
        alice.notifications_clear()
        self.assertEqual(alice.notifications(), [])
        self.assertEqual(self.clients["bob"].notifications(), [])

        stranger = Mastodon(access_token="not.a.token",
                            api_base_url="http://127.0.0.1:%d" % self.notif.port,
                            mastodon_version="4.2.0", version_check_mode="none")
        with self.assertRaises(MastodonUnauthorizedError):
            stranger.notifications()


if __name__ == "__main__":
    unittest.main()
