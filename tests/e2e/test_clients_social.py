"""test_clients_social.py - posting, threads, timelines, favourites and follows driven by
clients we did not write: Mastodon.py 1.8 and toot 0.34, against the real threadly-service on
SQLite. Run with Debian's /usr/bin/python3."""
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "http"))
from harness import Service  # noqa: E402

from mastodon import Mastodon  # noqa: E402
from mastodon.errors import MastodonNotFoundError  # noqa: E402

CORE = os.environ["THREADLY_CORE_BIN"]


class SocialClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service(CORE, "--argon2-ops", "1", "--argon2-mem-kib", "8",
                          "--signup-limit", "1000", "--login-limit", "1000")
        cls.base = "http://127.0.0.1:%d" % cls.svc.port
        cls.cid, cls.secret = Mastodon.create_app("e2e", api_base_url=cls.base,
                                                  scopes=["read", "write", "follow", "push"])
        cls.users = {}
        for name in ("alice", "bob"):
            m = Mastodon(client_id=cls.cid, client_secret=cls.secret, api_base_url=cls.base)
            m.create_account(name, "correct horse battery", name + "@example.org",
                             agreement=True, locale="en")
            cls.users[name] = m

    @classmethod
    def tearDownClass(cls):
        assert cls.svc.terminate() == 0, cls.svc.log_text()

    def test_mastodon_py(self):
        alice, bob = self.users["alice"], self.users["bob"]
        a_id = alice.account_verify_credentials().id
        b_id = bob.account_verify_credentials().id
        rel = bob.account_follow(a_id)
        self.assertTrue(rel.following)
        self.assertTrue(bob.account_relationships(a_id)[0].following)
        self.assertIn(b_id, [a.id for a in alice.account_followers(a_id)])
        root = alice.status_post("Hello from Mastodon.py #e2e")
        reply = bob.status_post("@alice nice", in_reply_to_id=root)
        self.assertEqual(reply.in_reply_to_id, root.id)
        ctx = alice.status_context(root)
        self.assertEqual([s.id for s in ctx.descendants], [reply.id])
        self.assertEqual(alice.status(root).replies_count, 1)
        posted = [alice.status_post("page %d" % i).id for i in range(6)]
        page = bob.timeline_home(limit=3)
        self.assertEqual([s.id for s in page], posted[::-1][:3])
        older = bob.fetch_next(page)
        self.assertEqual([s.id for s in older], posted[::-1][3:6])
        newer = bob.fetch_previous(older)
        self.assertEqual([s.id for s in newer], posted[::-1][:3])
        fav = bob.status_favourite(root)
        self.assertTrue(fav.favourited)
        self.assertEqual(fav.favourites_count, 1)
        self.assertIn(root.id, [s.id for s in bob.favourites()])
        self.assertEqual([a.id for a in alice.status_favourited_by(root)], [b_id])
        bob.status_unfavourite(root)
        self.assertEqual(alice.status(root).favourites_count, 0)
        public = alice.timeline_public()
        self.assertIn(root.id, [s.id for s in public])
        self.assertIn(root.id, [s.id for s in alice.account_statuses(a_id, limit=40)])
        alice.status_delete(root)
        with self.assertRaises(MastodonNotFoundError):
            alice.status(root)
        me = alice.account_update_credentials(display_name="Alice A.", note="hello there")
        self.assertEqual(me.display_name, "Alice A.")
        self.assertEqual(alice.account(a_id).note, "<p>hello there</p>")
        bob.account_unfollow(a_id)
        self.assertFalse(bob.account_relationships(a_id)[0].following)

    def toot(self, cfg, *args, stdin=None):
        env = dict(os.environ, XDG_CONFIG_HOME=cfg)
        p = subprocess.run(["toot", *args], input=stdin, capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(p.returncode, 0, "toot %s: %s%s" % (args, p.stdout, p.stderr))
        return p.stdout

    def test_toot(self):
        Mastodon(client_id=self.cid, client_secret=self.secret, api_base_url=self.base
                 ).create_account("carol", "correct horse battery", "carol@example.org",
                                  agreement=True, locale="en")
        carol = tempfile.mkdtemp(prefix="toot-carol-")
        dave = tempfile.mkdtemp(prefix="toot-dave-")
        Mastodon(client_id=self.cid, client_secret=self.secret, api_base_url=self.base
                 ).create_account("dave", "correct horse battery", "dave@example.org",
                                  agreement=True, locale="en")
        host = "127.0.0.1:%d" % self.svc.port
        for cfg, email in ((carol, "carol@example.org"), (dave, "dave@example.org")):
            self.toot(cfg, "login_cli", "-i", host, "--disable-https", "-e", email,
                      stdin="correct horse battery\n")
        out = self.toot(carol, "post", "Hello from toot")
        m = re.search(r"/@carol/(\d+)", out)
        self.assertIsNotNone(m, out)
        sid = m.group(1)
        self.assertIn("Hello from toot", self.toot(carol, "timeline"))
        self.toot(dave, "follow", "carol")
        self.assertIn("dave", self.toot(carol, "followers", "carol"))
        self.assertIn("Hello from toot", self.toot(dave, "timeline"))
        self.toot(dave, "post", "reply from toot", "-r", sid)
        thread = self.toot(carol, "thread", sid)
        self.assertIn("Hello from toot", thread)
        self.assertIn("reply from toot", thread)
        self.toot(dave, "favourite", sid)
        self.assertEqual(self.users["alice"].status(sid).favourites_count, 1)
        self.toot(dave, "unfollow", "carol")
        self.toot(carol, "delete", sid)
        with self.assertRaises(MastodonNotFoundError):
            self.users["alice"].status(sid)
        self.assertIn("@carol", self.toot(carol, "whoami"))


if __name__ == "__main__":
    unittest.main()
