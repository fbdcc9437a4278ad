// streaming.test.mjs - lib/http's streaming hub (in the stream_testd test server: token
// "tok-<id>" is account <id>, POST /test/publish) with clients we did not write: masto.js 7's
// WebSocket client (token as the subprotocol) and a real headless Chromium's WebSocket, which
// drops the connection unless the server echoes the offered subprotocol.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";
import { createStreamingAPIClient } from "masto";

const BIN = process.env.THREADLY_STREAM_TESTD;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
let server, base;

function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), "threadly-stream-"));
  const proc = spawn(BIN, ["--port", "0", "--data-dir", dataDir, "--access-log=false"],
    { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("stream_testd did not start")), 15000);
    createInterface({ input: proc.stderr }).on("line", (line) => {
      try {
        const rec = JSON.parse(line);
        if (rec.msg === "listening") {
          clearTimeout(timer);
          resolve({ proc, port: rec.port });
        }
      } catch { /* not a log line */ }
    });
    proc.on("exit", (code) => reject(new Error(`stream_testd exited with ${code}`)));
  });
}

before(async () => {
  assert.ok(BIN, "THREADLY_STREAM_TESTD must name the stream_testd binary");
  server = await startServer();
  base = `127.0.0.1:${server.port}`;
});

after(() => {
  server?.proc.kill("SIGTERM");
});

async function publish(fields) {
  const r = await fetch(`http://${base}/test/publish`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
  assert.equal(r.status, 200);
}

async function openStreams() {
  const r = await fetch(`http://${base}/test/connections`);
  return (await r.json()).open;
}

async function waitFor(pred, ms = 5000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return true;
    await new Promise((res) => setTimeout(res, 50));
  }
  return false;
}

const withTimeout = (p, ms, what) => Promise.race([p,
  new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out: ${what}`)), ms))]);

test("masto.js subscribes to the user stream over WebSocket", async () => {
  const client = createStreamingAPIClient({ streamingApiUrl: `ws://${base}`, accessToken: "tok-71" });
  const before = await openStreams();
  const sub = client.user.subscribe();
  const it = sub[Symbol.asyncIterator]();
  const first = it.next(); // starts the connection and the subscription
  try {
    assert.ok(await waitFor(async () => (await openStreams()) === before + 1));
    await new Promise((res) => setTimeout(res, 200)); // let the subscribe message arrive
    await publish({ stream: "user", account: "71", event: "notification",
      payload: JSON.stringify({ id: "9", type: "follow", created_at: "2026-11-25T01:02:03.000Z" }) });
    const { value } = await withTimeout(first, 5000, "masto.js event");
    assert.equal(value.event, "notification");
    assert.deepEqual(value.stream, ["user"]);
    assert.equal(value.payload.id, "9");
    assert.equal(value.payload.createdAt, "2026-11-25T01:02:03.000Z"); // parsed, camel-cased
    await publish({ stream: "user", account: "71", event: "delete", payload: "9" });
    const { value: del } = await withTimeout(it.next(), 5000, "masto.js delete");
    assert.equal(del.event, "delete");
    assert.equal(del.payload, "9");
  } finally {
    sub.unsubscribe();
    client.close();
  }
});

test("Chromium's WebSocket opens with the token as subprotocol and gets events", async () => {
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://${base}/api/v1/streaming/health`);
    const opened = await page.evaluate((url) => new Promise((resolve) => {
      const ws = new WebSocket(url, ["tok-72"]);
      window.frames_ = [];
      ws.onmessage = (e) => window.frames_.push(e.data);
      ws.onopen = () => {
        ws.send(JSON.stringify({ type: "subscribe", stream: "user" }));
        resolve({ ok: true, protocol: ws.protocol });
      };
      ws.onerror = () => resolve({ ok: false });
      window.ws_ = ws;
    }), `ws://${base}/api/v1/streaming`);
    assert.deepEqual(opened, { ok: true, protocol: "tok-72" });
    await new Promise((res) => setTimeout(res, 200));
    await publish({ stream: "user", account: "72", event: "update", payload: '{"id":"1"}' });
    await page.waitForFunction(() => window.frames_.length > 0, null, { timeout: 5000 });
    const frames = await page.evaluate(() => window.frames_);
    assert.deepEqual(JSON.parse(frames[0]),
      { stream: ["user"], event: "update", payload: '{"id":"1"}' });
  } finally {
    await browser.close();
  }
});
