"""test_auth_api.py - apps, OAuth tokens, sign-up and accounts over HTTP against the real
threadly-service on SQLite: wire shapes, every refusal path, persistence across restarts."""
import json
import os
import shutil
import unittest
import urllib.parse

from harness import Service

CORE = os.environ["THREADLY_CORE_BIN"]
FAST = ("--argon2-ops", "1", "--argon2-mem-kib", "8", "--signup-limit", "1000",
        "--login-limit", "1000")


def form(d):
    return urllib.parse.urlencode(d, doseq=True)


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


class AuthApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service(CORE, *FAST)

    @classmethod
    def tearDownClass(cls):
        assert cls.svc.terminate() == 0, cls.svc.log_text()

    def app(self, scopes="read write follow push"):
        r, j = self.svc.json("POST", "/api/v1/apps", json.dumps({
            "client_name": "test app", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": scopes, "website": "https://example.org"}), JSON)
        self.assertEqual(r.status, 200, j)
        return j

    def app_token(self, app):
        r, j = self.svc.json("POST", "/oauth/token", form({
            "grant_type": "client_credentials", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "scope": "read write"}), FORM)
        self.assertEqual(r.status, 200, j)
        return j["access_token"]

    def sign_up(self, app, username, email, password="correct horse battery"):
        return self.svc.json("POST", "/api/v1/accounts", form({
            "username": username, "email": email, "password": password, "agreement": "1",
            "locale": "en"}), dict(FORM, Authorization="Bearer " + self.app_token(app)))

    def login(self, app, username, password="correct horse battery", scope="read write"):
        return self.svc.json("POST", "/oauth/token", form({
            "grant_type": "password", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "username": username, "password": password,
            "scope": scope}), FORM)

    def bearer(self, token):
        return {"Authorization": "Bearer " + token}

    def test_app_entity(self):
        app = self.app()
        for key in ("id", "name", "website", "scopes", "redirect_uri", "redirect_uris",
                    "client_id", "client_secret", "client_secret_expires_at"):
            self.assertIn(key, app)
        self.assertEqual(app["scopes"], ["read", "write", "follow", "push"])
        self.assertEqual(app["redirect_uris"], ["urn:ietf:wg:oauth:2.0:oob"])
        # form encoding with an array of redirect URIs
        r, j = self.svc.json("POST", "/api/v1/apps", form({
            "client_name": "f", "redirect_uris[]": ["https://a.example/cb", "https://b.example/cb"]}),
            FORM)
        self.assertEqual(r.status, 200)
        self.assertEqual(j["redirect_uris"], ["https://a.example/cb", "https://b.example/cb"])
        self.assertEqual(j["scopes"], ["read"])
        r, j = self.svc.json("GET", "/api/v1/apps/verify_credentials",
                             headers=self.bearer(self.app_token(app)))
        self.assertEqual(r.status, 200)
        self.assertEqual(j["name"], "test app")
        self.assertNotIn("client_secret", j)

    def test_app_validation(self):
        r, j = self.svc.json("POST", "/api/v1/apps", form({"client_name": "x"}), FORM)
        self.assertEqual(r.status, 422)
        self.assertIn("redirect_uri", j["details"])
        r, j = self.svc.json("POST", "/api/v1/apps", form({
            "client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read admin:everything"}), FORM)
        self.assertEqual(r.status, 422)
        self.assertIn("scopes", j["details"])

    def test_sign_up_login_and_account_entity(self):
        app = self.app()
        r, tok = self.sign_up(app, "Alice", "Alice@Example.org")
        self.assertEqual(r.status, 200, tok)
        self.assertEqual(set(tok), {"access_token", "token_type", "scope", "created_at"})
        self.assertEqual(tok["token_type"], "Bearer")
        r, me = self.svc.json("GET", "/api/v1/accounts/verify_credentials",
                              headers=self.bearer(tok["access_token"]))
        self.assertEqual(r.status, 200, me)
        self.assertEqual(me["username"], "Alice")
        self.assertEqual(me["acct"], "Alice")
        self.assertRegex(me["id"], r"^\d+$")
        self.assertRegex(me["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertIsNone(me["last_status_at"])
        self.assertTrue(me["avatar"].startswith("http"))
        for key in ("display_name", "locked", "bot", "group", "discoverable", "note", "url", "uri",
                    "avatar_static", "header", "header_static", "followers_count",
                    "following_count", "statuses_count", "emojis", "fields", "source"):
            self.assertIn(key, me)
        # password grant with the email (any case) and with the username
        for who in ("alice@example.org", "ALICE@EXAMPLE.ORG", "alice", "Alice"):
            r, j = self.login(app, who)
            self.assertEqual(r.status, 200, (who, j))
            self.assertEqual(j["scope"], "read write")
        r, j = self.svc.json("GET", "/api/v1/accounts/" + me["id"])
        self.assertEqual((r.status, j["username"]), (200, "Alice"))
        self.assertNotIn("source", j)
        for acct in ("alice", "@Alice", "alice@" + "127.0.0.1:8000"):
            r, j = self.svc.json("GET", "/api/v1/accounts/lookup?acct=" + urllib.parse.quote(acct))
            self.assertEqual((r.status, j.get("id")), (200, me["id"]), acct)
        r, j = self.svc.json("GET", "/api/v1/accounts/lookup?acct=alice@elsewhere.example")
        self.assertEqual(r.status, 404)

    def test_sign_up_refusals(self):
        app = self.app()
        r, _ = self.sign_up(app, "bob", "bob@example.org")
        self.assertEqual(r.status, 200)
        r, j = self.sign_up(app, "BOB", "Bob@example.org")
        self.assertEqual(r.status, 422)
        self.assertEqual(j["details"]["username"][0]["error"], "ERR_TAKEN")
        self.assertEqual(j["details"]["email"][0]["error"], "ERR_TAKEN")
        self.assertTrue(j["error"].startswith("Validation failed: "))
        r, j = self.sign_up(app, "b<script>", "not-an-email", "short")
        self.assertEqual(r.status, 422)
        self.assertEqual(j["details"]["username"][0]["error"], "ERR_INVALID")
        self.assertEqual(j["details"]["email"][0]["error"], "ERR_INVALID")
        self.assertEqual(j["details"]["password"][0]["error"], "ERR_TOO_SHORT")
        r, j = self.sign_up(app, "x" * 31, "x@example.org")
        self.assertEqual(j["details"]["username"][0]["error"], "ERR_TOO_LONG")
        # no token, and a user token instead of an app token with write:accounts still works
        r, j = self.svc.json("POST", "/api/v1/accounts", form({"username": "z"}), FORM)
        self.assertEqual(r.status, 401)
        # a read-only app token cannot register
        ro = self.app("read")
        r, j = self.svc.json("POST", "/oauth/token", form({
            "grant_type": "client_credentials", "client_id": ro["client_id"],
            "client_secret": ro["client_secret"]}), FORM)
        r, j = self.svc.json("POST", "/api/v1/accounts", form({
            "username": "zed", "email": "zed@example.org", "password": "long enough pw",
            "agreement": "true", "locale": "en"}), dict(FORM, **self.bearer(j["access_token"])))
        self.assertEqual(r.status, 403)
        r, j = self.svc.json("GET", "/api/v1/accounts/lookup?acct=zed")
        self.assertEqual(r.status, 404)

    def test_token_refusals(self):
        app = self.app()
        self.sign_up(app, "carol", "carol@example.org")
        r, j = self.login(app, "carol", "wrong password")
        self.assertEqual((r.status, j["error"]), (400, "invalid_grant"))
        self.assertIn("error_description", j)
        r, j2 = self.login(app, "nobody-here", "wrong password")
        self.assertEqual((r.status, j2), (400, j))  # the same answer: no account enumeration
        r, j = self.svc.json("POST", "/oauth/token", form({
            "grant_type": "password", "client_id": app["client_id"], "client_secret": "nope",
            "username": "carol", "password": "correct horse battery"}), FORM)
        self.assertEqual((r.status, j["error"]), (401, "invalid_client"))
        r, j = self.login(app, "carol", scope="read admin:write")
        self.assertEqual((r.status, j["error"]), (400, "invalid_scope"))
        r, j = self.svc.json("POST", "/oauth/token", form({"grant_type": "magic"}), FORM)
        self.assertEqual((r.status, j["error"]), (400, "unsupported_grant_type"))
        r, j = self.svc.json("POST", "/oauth/token", form({
            "grant_type": "password", "client_id": app["client_id"],
            "client_secret": app["client_secret"]}), FORM)
        self.assertEqual((r.status, j["error"]), (400, "invalid_request"))

    def test_bearer_checks_and_revocation(self):
        app = self.app()
        self.sign_up(app, "dave", "dave@example.org")
        path = "/api/v1/accounts/verify_credentials"
        for headers in ({}, {"Authorization": "Bearer garbage"},
                        {"Authorization": "Bearer a.b.c"}, {"Authorization": "Basic Zm9vOmJhcg=="}):
            r, j = self.svc.json("GET", path, headers=headers)
            self.assertEqual(r.status, 401, headers)
            self.assertEqual(j, {"error": "The access token is invalid"})
        r, tok = self.login(app, "dave", scope="write")  # no read scope
        r, j = self.svc.json("GET", path, headers=self.bearer(tok["access_token"]))
        self.assertEqual(r.status, 403)
        r, j = self.svc.json("GET", path, headers=self.bearer(self.app_token(app)))
        self.assertEqual(r.status, 422)  # an app token has no user
        r, tok = self.login(app, "dave")
        r, _ = self.svc.json("GET", path + "?access_token=" + tok["access_token"])
        self.assertEqual(r.status, 200)
        r, j = self.svc.json("POST", "/oauth/revoke", form({
            "client_id": app["client_id"], "client_secret": app["client_secret"],
            "token": tok["access_token"]}), FORM)
        self.assertEqual((r.status, j), (200, {}))
        r, _ = self.svc.json("GET", path, headers=self.bearer(tok["access_token"]))
        self.assertEqual(r.status, 401)

    def test_metadata_and_ready(self):
        r, j = self.svc.json("GET", "/.well-known/oauth-authorization-server")
        self.assertEqual(r.status, 200)
        self.assertIn("password", j["grant_types_supported"])
        self.assertEqual(j["code_challenge_methods_supported"], ["S256"])
        r, j = self.svc.json("GET", "/ready")
        self.assertEqual(j["checks"], {"data_dir": "ok", "database": "ok"})

    def test_unknown_account_ids(self):
        for path in ("/api/v1/accounts/999999", "/api/v1/accounts/abc",
                     "/api/v1/accounts/99999999999999999999999"):
            r, j = self.svc.json("GET", path)
            self.assertEqual(r.status, 404, path)
            self.assertIn("error", j)


class SlowHashTest(unittest.TestCase):
    def test_password_hashing_does_not_stall_other_requests(self):
        # One event thread and an expensive hash: while a login hashes on the worker pool,
        # the event thread still answers /health.
        import threading
        import time
        svc = Service(CORE, "--threads", "1", "--argon2-ops", "4", "--argon2-mem-kib",
                      "262144", "--signup-limit", "1000", "--login-limit", "1000")
        try:
            t = AuthApiTest()
            t.svc = svc
            app = t.app()
            r, _ = t.sign_up(app, "slow", "slow@example.org")
            self.assertEqual(r.status, 200)
            done = {}

            def login():
                r, _ = t.login(app, "slow")
                done["login"] = (time.monotonic(), r.status)

            th = threading.Thread(target=login)
            th.start()
            time.sleep(0.05)
            r, _ = svc.request("GET", "/health")
            health_at = time.monotonic()
            th.join(30)
            self.assertEqual(r.status, 200)
            self.assertEqual(done["login"][1], 200)
            self.assertLess(health_at, done["login"][0], "health waited for the hash")
        finally:
            self.assertEqual(svc.terminate(), 0)


class RateLimitTest(unittest.TestCase):
    def test_sign_up_and_login_are_limited_per_client_ip(self):
        svc = Service(CORE, "--argon2-ops", "1", "--argon2-mem-kib", "8", "--signup-limit", "2",
                      "--login-limit", "3")
        try:
            t = AuthApiTest()
            t.svc = svc
            app = t.app()
            for i in range(2):
                r, j = t.sign_up(app, "rl%d" % i, "rl%d@example.org" % i)
                self.assertEqual(r.status, 200, j)
                self.assertEqual(r.getheader("X-RateLimit-Remaining"), str(1 - i))
            r, j = t.sign_up(app, "rl9", "rl9@example.org")
            self.assertEqual((r.status, j), (429, {"error": "Too many requests"}))
            self.assertEqual(r.getheader("X-RateLimit-Limit"), "2")
            self.assertRegex(r.getheader("X-RateLimit-Reset"), r"^\d{4}-\d\d-\d\dT.*\.\d{3}Z$")
            r, j = svc.json("GET", "/api/v1/accounts/lookup?acct=rl9")
            self.assertEqual(r.status, 404)  # the refused sign-up changed nothing
            # behind the gateway, each client has its own budget
            r, j = svc.json("POST", "/api/v1/accounts", form({
                "username": "rl9", "email": "rl9@example.org", "password": "long enough pw",
                "agreement": "1", "locale": "en"}),
                dict(FORM, Authorization="Bearer " + t.app_token(app),
                     **{"X-Forwarded-For": "203.0.113.7"}))
            self.assertEqual(r.status, 200, j)
            codes = [t.login(app, "rl0", "wrong password")[0].status for _ in range(4)]
            self.assertEqual(codes, [400, 400, 400, 429])
        finally:
            self.assertEqual(svc.terminate(), 0)


class PersistenceTest(unittest.TestCase):
    def test_accounts_and_tokens_survive_a_restart(self):
        svc = Service(CORE, *FAST)
        data = svc.data_dir
        t = AuthApiTest()
        t.svc = svc
        app = t.app()
        r, tok = t.sign_up(app, "erin", "erin@example.org")
        self.assertEqual(r.status, 200)
        self.assertEqual(svc.terminate(), 0)
        svc = Service(CORE, *FAST, data_dir=data)
        try:
            r, me = svc.json("GET", "/api/v1/accounts/verify_credentials",
                             headers={"Authorization": "Bearer " + tok["access_token"]})
            self.assertEqual((r.status, me.get("username")), (200, "erin"))
            r, j = svc.json("GET", "/api/v1/instance")
            self.assertEqual(j["stats"]["user_count"], 1)
            self.assertTrue(os.path.exists(os.path.join(data, "threadly", "jwt-ed25519.key.pub")))
            self.assertEqual(os.stat(os.path.join(data, "threadly", "jwt-ed25519.key")).st_mode
                             & 0o077, 0)
        finally:
            self.assertEqual(svc.terminate(), 0)

    def test_a_new_key_invalidates_old_tokens(self):
        svc = Service(CORE, *FAST)
        data = svc.data_dir
        t = AuthApiTest()
        t.svc = svc
        app = t.app()
        r, tok = t.sign_up(app, "fay", "fay@example.org")
        self.assertEqual(svc.terminate(), 0)
        os.remove(os.path.join(data, "threadly", "jwt-ed25519.key"))
        svc = Service(CORE, *FAST, data_dir=data)
        try:
            r, _ = svc.json("GET", "/api/v1/accounts/verify_credentials",
                            headers={"Authorization": "Bearer " + tok["access_token"]})
            self.assertEqual(r.status, 401)
        finally:
            svc.terminate()

    def test_bad_db_option_and_unwritable_database(self):
        import subprocess
        # The pgsql adapter is built: an unreachable server fails the start (not the option).
        p = subprocess.run([CORE, "--db", "postgres://postgres@127.0.0.1:1/x", "--data-dir",
                            "/tmp/tl-x"], capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot start", p.stderr)
        self.assertIn("pgsql connect", p.stderr)
        p = subprocess.run([CORE, "--db", "mysql:x", "--data-dir", "/tmp/tl-x"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        p = subprocess.run([CORE, "--db", "sqlite:/proc/no/such/dir/x.db", "--data-dir",
                            "/tmp/tl-x"], capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot start", p.stderr)


if __name__ == "__main__":
    unittest.main()
