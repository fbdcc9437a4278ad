"""livestack.py - the whole of Threadly for end-to-end tests: the real threadly-service, the real
notification-service consuming its outbox feed, and (optionally) the nginx gateway in front of
both, as `make run` wires them. With THREADLY_TEST_DB=pgsql both services use PostgreSQL (a
fresh database each, from TEST_PG_URL).

Run as a script it starts a stack with the gateway, makes the accounts named on the command
line, prints one JSON line {"base": ..., "tokens": {name: token}, "ids": {name: id}} on stdout
and runs until stdin closes (tests/browser/live.test.mjs uses it). Debian's /usr/bin/python3."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))
from harness import PGSQL, Service, free_port, pg_database_for  # noqa: E402
from harness import wait_until as harness_wait_until  # noqa: E402

CORE = os.environ["THREADLY_CORE_BIN"]
NOTIF = os.environ["THREADLY_NOTIFICATION_BIN"]
SRC = os.environ.get("THREADLY_SOURCE_DIR",
                     os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def call(base, method, path, token=None, form=None, timeout=10):
    """(status, body) of one request, the body decoded when it is JSON; form is sent
    urlencoded."""
    body = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
    req = urllib.request.Request(base + path, data=body, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, _body(r.read())
    except urllib.error.HTTPError as e:
        return e.code, _body(e.read())


def _body(data):
    """JSON if it is, else the bytes (or None when empty)."""
    try:
        return json.loads(data) if data else None
    except ValueError:
        return data


def wait_until(pred, timeout=10.0, step=0.02):
    """harness.wait_until, polling every 20 ms."""
    return harness_wait_until(pred, timeout, step)


class Stack:
    def __init__(self, gateway=True, core_port=0, notif_port=0, notif_args=()):
        self.data = tempfile.mkdtemp(prefix="threadly-live-")
        self.gw_port = free_port() if gateway else None
        self.core_port, self.notif_port, self.notif_args = core_port, notif_port, notif_args
        self.nginx = None
        self.core = self.notif = None
        self.start_core()
        self.start_notif()
        if gateway:
            self.start_gateway()
        self.app = None

    # ---- processes ----

    def public_url(self):
        port = self.gw_port or self.core_port or 8000
        return "http://127.0.0.1:%d" % port

    def start_core(self):
        args = ["--argon2-ops", "1", "--argon2-mem-kib", "8", "--signup-limit", "100000",
                "--login-limit", "100000", "--access-log=false", "--public-url",
                self.public_url()]
        if self.core_port:
            args += ["--port", str(self.core_port)]
        self.core = Service(CORE, *args, data_dir=self.data)
        self.core_port = self.core.port
        return self.core

    def start_notif(self):
        args = ["--events-url", "http://127.0.0.1:%d/internal/v1/events" % self.core_port,
                "--events-wait", "5", "--events-backoff-max-ms", "300", "--access-log=false",
                "--public-url", self.public_url(), *self.notif_args]
        if PGSQL:
            args += ["--db", pg_database_for(os.path.join(self.data, "notification"))]
        if self.notif_port:
            args += ["--port", str(self.notif_port)]
        self.notif = Service(NOTIF, *args, data_dir=self.data)
        self.notif_port = self.notif.port
        return self.notif

    def start_gateway(self):
        gw = os.path.join(self.data, "nginx")
        subprocess.run([os.path.join(SRC, "scripts/render-gateway"),
                        os.path.join(SRC, "deploy/nginx/gateway.conf.template"), gw,
                        "127.0.0.1:%d" % self.gw_port, "127.0.0.1:%d" % self.core_port,
                        "127.0.0.1:%d" % self.notif_port], check=True, timeout=30,
                       stdout=subprocess.DEVNULL)
        self.nginx = subprocess.Popen(["nginx", "-p", gw + "/", "-c", gw + "/nginx.conf",
                                       "-g", "daemon off;"], stderr=subprocess.DEVNULL)
        ok = wait_until(lambda: self._up("http://127.0.0.1:%d/health" % self.gw_port), 10)
        assert ok, "the gateway did not start"

    @staticmethod
    def _up(url):
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except (OSError, urllib.error.HTTPError):
            return False

    def stop(self):
        """Stops everything; raises if a service did not exit cleanly (status 0, no sanitizer
        report in its log)."""
        problems = []
        try:
            if self.nginx:
                self.nginx.terminate()
                self.nginx.wait(10)
            for name, svc in (("notification-service", self.notif),
                              ("threadly-service", self.core)):
                if not svc:
                    continue
                rc = svc.terminate() if svc.proc.poll() is None else svc.proc.returncode
                log = svc.log_text()
                if rc != 0 or "Sanitizer" in log or "runtime error:" in log:
                    problems.append("%s exited with %s:\n%s" % (name, rc, log[-4000:]))
        finally:
            shutil.rmtree(self.data, ignore_errors=True)
        if problems:
            raise AssertionError("\n".join(problems))

    # ---- clients ----

    @property
    def base(self):
        """Where clients go: the gateway, or threadly-service without one."""
        return self.public_url() if self.gw_port else "http://127.0.0.1:%d" % self.core_port

    @property
    def notif_base(self):
        return self.base if self.gw_port else "http://127.0.0.1:%d" % self.notif_port

    def account(self, name, scopes="read write follow push"):
        """Signs name up; returns (token, account id)."""
        core = "http://127.0.0.1:%d" % self.core_port
        if self.app is None:
            st, app = call(core, "POST", "/api/v1/apps",
                           form={"client_name": "live", "redirect_uris":
                                 "urn:ietf:wg:oauth:2.0:oob", "scopes": scopes})
            assert st == 200, app
            self.app = app
        st, app_tok = call(core, "POST", "/oauth/token",
                           form={"grant_type": "client_credentials", "client_id":
                                 self.app["client_id"], "client_secret":
                                 self.app["client_secret"], "scope": "write"})
        assert st == 200, app_tok
        st, tok = call(core, "POST", "/api/v1/accounts", token=app_tok["access_token"],
                       form={"username": name, "email": name + "@example.org",
                             "password": "correct horse battery", "agreement": "true",
                             "locale": "en"})
        assert st == 200, tok
        token = tok["access_token"]
        st, me = call(core, "GET", "/api/v1/accounts/verify_credentials", token=token)
        assert st == 200, me
        return token, me["id"]

    def token_with_scope(self, name, scope):
        """Another token of name's, with only scope (password grant)."""
        st, tok = call(self.base, "POST", "/oauth/token",
                       form={"grant_type": "password", "client_id": self.app["client_id"],
                             "client_secret": self.app["client_secret"],
                             "username": name + "@example.org",
                             "password": "correct horse battery", "scope": scope})
        assert st == 200, tok
        return tok["access_token"]

    def notifications(self, token, **params):
        q = "?" + urllib.parse.urlencode(params, doseq=True) if params else ""
        st, body = call(self.notif_base, "GET", "/api/v1/notifications" + q, token=token)
        assert st == 200, body
        return body


def metric(port, name):
    """The value of an unlabelled metric of the service on port, or None."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{}"):
            return float(line.split()[-1])
    return None


def main():
    stack = Stack(gateway=True)
    try:
        tokens, ids = {}, {}
        for name in sys.argv[1:]:
            tokens[name], ids[name] = stack.account(name)
        print(json.dumps({"base": stack.base, "tokens": tokens, "ids": ids,
                          "notif_port": stack.notif_port}), flush=True)
        sys.stdin.read()
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
