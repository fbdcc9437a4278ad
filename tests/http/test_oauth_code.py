"""test_oauth_code.py - the authorization_code flow with PKCE against the real
threadly-service: the HTML login page, the redirect with code and state, the out-of-band page,
the exchange (verifier, redirect URI, single use) and every refusal."""
import base64
import hashlib
import html
import json
import os
import re
import unittest
import urllib.parse

from harness import Service

CORE = os.environ["THREADLY_CORE_BIN"]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CB = "http://127.0.0.1:9/callback"


def form(d):
    return urllib.parse.urlencode(d)


def pkce():
    verifier = base64.urlsafe_b64encode(os.urandom(40)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()
                                         ).rstrip(b"=").decode()
    return verifier, challenge


class CodeFlowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service(CORE, "--argon2-ops", "1", "--argon2-mem-kib", "8",
                          "--signup-limit", "1000", "--login-limit", "1000")
        r, cls.app = cls.svc.json("POST", "/api/v1/apps", json.dumps({
            "client_name": "Web <App>", "redirect_uris": [CB, "urn:ietf:wg:oauth:2.0:oob"],
            "scopes": "read write follow"}), {"Content-Type": "application/json"})
        r, j = cls.svc.json("POST", "/oauth/token", form({
            "grant_type": "client_credentials", "client_id": cls.app["client_id"],
            "client_secret": cls.app["client_secret"], "scope": "write"}), FORM)
        r, j = cls.svc.json("POST", "/api/v1/accounts", form({
            "username": "webuser", "email": "web@example.org", "password": "correct horse battery",
            "agreement": "1", "locale": "en"}),
            dict(FORM, Authorization="Bearer " + j["access_token"]))
        assert r.status == 200, j

    @classmethod
    def tearDownClass(cls):
        assert cls.svc.terminate() == 0, cls.svc.log_text()

    def params(self, **kw):
        p = {"response_type": "code", "client_id": self.app["client_id"], "redirect_uri": CB,
             "scope": "read write", "state": "st<&>\"1"}
        p.update(kw)
        return {k: v for k, v in p.items() if v is not None}

    def authorize(self, password="correct horse battery", **kw):
        p = self.params(**kw)
        p.update(username="web@example.org", password=password)
        return self.svc.request("POST", "/oauth/authorize", form(p), FORM)

    def code_from(self, answer):
        r, body = answer
        self.assertEqual(r.status, 302, body)
        loc = urllib.parse.urlparse(r.getheader("Location"))
        q = urllib.parse.parse_qs(loc.query)
        self.assertEqual(loc.scheme + "://" + loc.netloc + loc.path, CB)
        self.assertEqual(q["state"], ['st<&>"1'])
        return q["code"][0]

    def exchange(self, code, verifier=None, redirect_uri=CB, secret=None):
        d = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
             "client_id": self.app["client_id"],
             "client_secret": secret or self.app["client_secret"]}
        if verifier:
            d["code_verifier"] = verifier
        return self.svc.json("POST", "/oauth/token", form(d), FORM)

    def test_page_is_escaped_and_framing_denied(self):
        r, body = self.svc.request("GET", "/oauth/authorize?" + form(self.params()))
        self.assertEqual(r.status, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("text/html"))
        self.assertEqual(r.getheader("X-Frame-Options"), "DENY")
        page = body.decode()
        self.assertIn("Web &lt;App&gt;", page)
        self.assertNotIn("Web <App>", page)
        self.assertIn('value="st&lt;&amp;&gt;&quot;1"', page)
        self.assertIn('name="password"', page)

    def test_pkce_flow(self):
        verifier, challenge = pkce()
        code = self.code_from(self.authorize(code_challenge=challenge,
                                             code_challenge_method="S256"))
        r, j = self.exchange(code, "x" * 43)
        self.assertEqual((r.status, j["error"]), (400, "invalid_grant"))
        code = self.code_from(self.authorize(code_challenge=challenge,
                                             code_challenge_method="S256"))
        r, tok = self.exchange(code, verifier)
        self.assertEqual(r.status, 200, tok)
        self.assertEqual(tok["scope"], "read write")
        r, me = self.svc.json("GET", "/api/v1/accounts/verify_credentials",
                              headers={"Authorization": "Bearer " + tok["access_token"]})
        self.assertEqual(me["username"], "webuser")
        r, j = self.exchange(code, verifier)  # a code works once
        self.assertEqual((r.status, j["error"]), (400, "invalid_grant"))

    def test_code_bound_to_redirect_uri_and_client(self):
        code = self.code_from(self.authorize())
        r, j = self.exchange(code, redirect_uri="urn:ietf:wg:oauth:2.0:oob")
        self.assertEqual((r.status, j["error"]), (400, "invalid_grant"))
        code = self.code_from(self.authorize())
        r, j = self.exchange(code, secret="wrong")
        self.assertEqual((r.status, j["error"]), (401, "invalid_client"))
        r, j = self.exchange("made-up-code")
        self.assertEqual((r.status, j["error"]), (400, "invalid_grant"))

    def test_out_of_band(self):
        r, body = self.authorize(redirect_uri="urn:ietf:wg:oauth:2.0:oob")
        self.assertEqual(r.status, 200)
        code = html.unescape(re.search(r'<code id="code">([^<]+)</code>', body.decode()).group(1))
        r, tok = self.exchange(code, redirect_uri="urn:ietf:wg:oauth:2.0:oob")
        self.assertEqual(r.status, 200, tok)

    def test_refusals(self):
        r, body = self.authorize(password="wrong password")
        self.assertEqual(r.status, 401)
        self.assertIn(b"Wrong email, username or password", body)
        self.assertIsNone(r.getheader("Location"))
        cases = [dict(client_id="nope"), dict(redirect_uri="https://evil.example/cb"),
                 dict(response_type="token"), dict(scope="read admin:write"),
                 dict(code_challenge="abc", code_challenge_method="plain")]
        for c in cases:
            r, body = self.svc.request("GET", "/oauth/authorize?" + form(self.params(**c)))
            self.assertEqual(r.status, 400, c)
            self.assertIsNone(r.getheader("Location"), c)  # never redirect to unverified URIs
            r, body = self.authorize(**c)
            self.assertEqual(r.status, 400, c)


if __name__ == "__main__":
    unittest.main()
