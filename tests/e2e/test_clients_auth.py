"""test_clients_auth.py - sign-up, login and account calls driven by clients we did not write:
Mastodon.py 1.8 (create_app, create_account, log_in, account_verify_credentials,
account_lookup, account) and toot 0.34 (login_cli, whoami), against the real threadly-service
on SQLite. Run with Debian's /usr/bin/python3."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "http"))
from harness import Service  # noqa: E402

from mastodon import Mastodon  # noqa: E402
from mastodon.errors import MastodonAPIError, MastodonIllegalArgumentError  # noqa: E402

CORE = os.environ["THREADLY_CORE_BIN"]


class ClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service(CORE, "--argon2-ops", "1", "--argon2-mem-kib", "8",
                          "--signup-limit", "1000", "--login-limit", "1000")
        cls.base = "http://127.0.0.1:%d" % cls.svc.port
        # Mastodon.py's create_account needs the app token, which it gets itself.
        cls.client_id, cls.client_secret = Mastodon.create_app(
            "threadly-e2e", api_base_url=cls.base, scopes=["read", "write", "follow", "push"])

    @classmethod
    def tearDownClass(cls):
        assert cls.svc.terminate() == 0, cls.svc.log_text()

    def client(self, token=None):
        return Mastodon(client_id=self.client_id, client_secret=self.client_secret,
                        access_token=token, api_base_url=self.base)

    def test_mastodon_py_sign_up_login_and_lookup(self):
        m = self.client()
        token = m.create_account("mpy_user", "correct horse battery", "mpy@example.org",
                                 agreement=True, locale="en")
        self.assertTrue(token)
        me = m.account_verify_credentials()
        self.assertEqual(me.username, "mpy_user")
        m2 = self.client()
        token2 = m2.log_in("mpy@example.org", "correct horse battery",
                           scopes=["read", "write", "follow", "push"])
        self.assertTrue(token2)
        self.assertEqual(m2.account_verify_credentials().id, me.id)
        found = m2.account_lookup("mpy_user")
        self.assertEqual(found.id, me.id)
        self.assertEqual(m2.account(me.id).acct, "mpy_user")
        self.assertEqual(found.created_at.year, me.created_at.year)  # dates parsed

    def test_mastodon_py_refusals(self):
        m = self.client()
        m.create_account("mpy_taken", "correct horse battery", "taken@example.org",
                         agreement=True, locale="en")
        # Mastodon.py reports a refused sign-up as MastodonIllegalArgumentError, or hands
        # back Mastodon's error body with return_detailed_error.
        with self.assertRaises(MastodonIllegalArgumentError):
            self.client().create_account("MPY_TAKEN", "correct horse battery",
                                         "other@example.org", agreement=True, locale="en")
        token, detail = self.client().create_account(
            "MPY_TAKEN", "correct horse battery", "Taken@example.org", agreement=True,
            locale="en", return_detailed_error=True)
        self.assertIsNone(token)
        self.assertEqual(detail["details"]["username"][0]["error"], "ERR_TAKEN")
        self.assertEqual(detail["details"]["email"][0]["error"], "ERR_TAKEN")
        with self.assertRaises(MastodonAPIError):
            self.client(token="not-a-token").account_verify_credentials()
        with self.assertRaises(MastodonIllegalArgumentError):
            self.client().log_in("taken@example.org", "wrong password")

    def test_mastodon_py_authorization_code(self):
        # Mastodon.py builds the authorize URL and exchanges the code; the person's part in the
        # browser (the login form) is played with urllib.
        import http.client
        import urllib.parse
        cb = "http://127.0.0.1:9/cb"
        cid, secret = Mastodon.create_app("code-e2e", api_base_url=self.base,
                                          redirect_uris=cb, scopes=["read", "write"])
        self.client().create_account("code_user", "correct horse battery",
                                     "code@example.org", agreement=True, locale="en")
        m = Mastodon(client_id=cid, client_secret=secret, api_base_url=self.base)
        url = urllib.parse.urlparse(m.auth_request_url(redirect_uris=cb, scopes=["read", "write"],
                                                       state="xyz"))
        params = dict(urllib.parse.parse_qsl(url.query))
        self.assertEqual(url.path, "/oauth/authorize")
        conn = http.client.HTTPConnection("127.0.0.1", self.svc.port, timeout=10)
        conn.request("GET", url.path + "?" + url.query)
        page = conn.getresponse()
        self.assertIn(b'name="password"', page.read())
        params.update(username="code_user", password="correct horse battery")
        conn.request("POST", "/oauth/authorize", urllib.parse.urlencode(params),
                     {"Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 302)
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.getheader("Location")).query))
        self.assertEqual(q["state"], "xyz")
        token = m.log_in(code=q["code"], redirect_uri=cb, scopes=["read", "write"])
        self.assertTrue(token)
        self.assertEqual(m.account_verify_credentials().username, "code_user")

    def test_toot_login_and_whoami(self):
        self.client().create_account("toot_user", "correct horse battery", "toot@example.org",
                                     agreement=True, locale="en")
        cfg = tempfile.mkdtemp(prefix="toot-")
        env = dict(os.environ, XDG_CONFIG_HOME=cfg)
        p = subprocess.run(["toot", "login_cli", "-i", "127.0.0.1:%d" % self.svc.port,
                            "--disable-https", "-e", "toot@example.org"],
                           input="correct horse battery\n", capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Successfully logged in", p.stdout)
        p = subprocess.run(["toot", "whoami"], capture_output=True, text=True, env=env,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("@toot_user", p.stdout)
        p = subprocess.run(["toot", "login_cli", "-i", "127.0.0.1:%d" % self.svc.port,
                            "--disable-https", "-e", "toot@example.org"],
                           input="wrong password\n", capture_output=True, text=True, env=env,
                           timeout=60)
        self.assertNotEqual(p.returncode, 0)


if __name__ == "__main__":
    unittest.main()
