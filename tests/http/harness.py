"""harness.py - starts the real binaries on free loopback ports and talks HTTP to them.

Used by the HTTP tests (stdlib only; run with /usr/bin/python3). A service is started with
--port 0; the port is read from its "listening" log line on stderr. Every log line is kept
so tests can assert on the access log.

THREADLY_TEST_DB=pgsql runs threadly-service on PostgreSQL instead of SQLite: each Service
of it gets --db with a fresh database of the server at TEST_PG_URL (one per data dir, so a
restart on the same data dir finds its data; dropped when the test process exits). Without
TEST_PG_URL such a run prints a SKIP and exits 0 at import, or fails if TEST_REQUIRE names
pgsql.
"""
import atexit
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse


def _required(name):
    return name in [p.strip() for p in os.environ.get("TEST_REQUIRE", "").split(",")]


PGSQL = os.environ.get("THREADLY_TEST_DB") == "pgsql"
if PGSQL and not os.environ.get("TEST_PG_URL"):
    if _required("pgsql"):
        print("FAIL: THREADLY_TEST_DB=pgsql and TEST_REQUIRE names pgsql, but TEST_PG_URL is "
              "not set", file=sys.stderr)
        sys.exit(1)
    print("SKIP: THREADLY_TEST_DB=pgsql but TEST_PG_URL is not set (scripts/test starts a "
          "server); nothing run", file=sys.stderr)
    sys.exit(0)


def psql(url, sql):
    """Runs sql with psql on url (a postgres:// URL); raises if it fails."""
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                   check=True, capture_output=True, text=True, timeout=60)


def pg_url_with_db(url, dbname):
    """url with its database name replaced by dbname."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))


_pg_dbs = {}  # data dir -> (admin URL, database name)


def _drop_pg_dbs():
    for admin, name in _pg_dbs.values():
        try:
            psql(admin, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        except (subprocess.SubprocessError, OSError):
            pass


def pg_database_for(data_dir):
    """The URL of the PostgreSQL database of data_dir, created on first use."""
    admin = os.environ["TEST_PG_URL"]
    if data_dir not in _pg_dbs:
        if not _pg_dbs:
            atexit.register(_drop_pg_dbs)
        name = "threadly_test_%d_%d" % (os.getpid(), len(_pg_dbs))
        psql(admin, "DROP DATABASE IF EXISTS %s" % name)
        psql(admin, "CREATE DATABASE %s" % name)
        _pg_dbs[data_dir] = (admin, name)
    return pg_url_with_db(admin, _pg_dbs[data_dir][1])


def _is_core(binary):
    core = os.environ.get("THREADLY_CORE_BIN")
    return os.path.basename(binary) == "threadly-service" or (
        core is not None and os.path.realpath(binary) == os.path.realpath(core))


class Service:
    def __init__(self, binary, *args, env=None, data_dir=None):
        self.binary = binary
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="threadly-test-")
        self.lines = []
        self.lock = threading.Lock()
        self.port = None
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLY_")}
        full_env.update(env or {})
        if PGSQL and _is_core(binary) and "--db" not in args:
            args = ("--db", pg_database_for(self.data_dir), *args)
        # On PostgreSQL logins wait for email confirmation by default; the suites that do not
        # test that log in right after signing up, so they get it off unless they say.
        if (_is_core(binary) and "--require-email-confirmation" not in args
                and "THREADLY_REQUIRE_EMAIL_CONFIRMATION" not in full_env):
            args = ("--require-email-confirmation", "false", *args)
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--data-dir", self.data_dir, *args],
            stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=full_env)
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(15):
            self.kill()
            raise RuntimeError("service did not log 'listening': %s" % self.log_text())

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.lock:
                self.lines.append(line)
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if obj.get("msg") == "listening":
                self.port = obj["port"]
                self._ready.set()
        self._ready.set()

    def log_text(self):
        with self.lock:
            return "\n".join(self.lines)

    def log_records(self):
        out = []
        with self.lock:
            for line in self.lines:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def wait_for_log(self, pred, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(pred(r) for r in self.log_records()):
                return True
            time.sleep(0.02)
        return False

    def conn(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None):
        c = conn or self.conn()
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return r, data

    def json(self, method, path, body=None, headers=None, conn=None):
        r, data = self.request(method, path, body, headers, conn)
        return r, json.loads(data) if data else None

    def terminate(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        finally:
            self._reader.join(5)
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe:
                    pipe.close()
        if rc != 0:  # the caller asserts on rc; the log says why (an assertion, a signal)
            sys.stderr.write("%s exited with %d; its log ends:\n%s\n"
                             % (os.path.basename(self.binary), rc, self.log_text()[-4000:]))
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_until(pred, timeout=10.0, step=0.05):
    """pred's first true value within timeout seconds, else its last value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def metric(svc, name):
    """The value of the unlabelled metric name on svc's /metrics, or None."""
    r, data = svc.request("GET", "/metrics")
    for line in data.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def raw(port, payload, timeout=5):
    """Sends raw bytes and returns everything the server answers until it closes or times out."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(payload)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


def status_of(response_bytes):
    line = response_bytes.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
