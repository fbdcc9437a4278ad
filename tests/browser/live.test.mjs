// live.test.mjs - issue #4 through the nginx gateway with the real threadly-service and
// notification-service (tests/e2e/livestack.py starts them): masto.js 7's WebSocket client
// hears `notification` after another account follows, favourites and mentions, and `update`
// when a followed account posts; a headless Chromium page opens the WebSocket with the token as
// subprotocol and receives a notification.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";
import { createStreamingAPIClient } from "masto";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SRC = process.env.THREADLY_SOURCE_DIR || join(import.meta.dirname, "..", "..");
let stack, env;

function startStack() {
  const proc = spawn("/usr/bin/python3", [join(SRC, "tests/e2e/livestack.py"), "alice", "bob", "carol"],
    { stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("livestack did not start")), 60000);
    createInterface({ input: proc.stdout }).once("line", (line) => {
      clearTimeout(timer);
      resolve({ proc, info: JSON.parse(line) });
    });
    proc.on("exit", (code) => reject(new Error(`livestack exited with ${code}`)));
  });
}

before(async () => {
  stack = await startStack();
  env = stack.info;
});

after(() => {
  stack?.proc.stdin.end(); // livestack stops everything when its stdin closes
});

async function api(who, method, path, form) {
  const r = await fetch(env.base + path, {
    method,
    headers: { Authorization: `Bearer ${env.tokens[who]}`,
      "Content-Type": "application/x-www-form-urlencoded" },
    body: form ? new URLSearchParams(form) : undefined,
  });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return body;
}

async function openStreams() {
  const r = await fetch(`http://127.0.0.1:${env.notif_port}/metrics`);
  let n = 0;
  for (const line of (await r.text()).split("\n"))
    if (line.startsWith("streaming_connected_clients")) n += Number(line.split(" ").pop());
  return n;
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

test("masto.js hears notifications and updates through the gateway", async () => {
  const ws = env.base.replace(/^http/, "ws");
  const client = createStreamingAPIClient({ streamingApiUrl: ws, accessToken: env.tokens.alice });
  const before = await openStreams();
  const sub = client.user.subscribe();
  const it = sub[Symbol.asyncIterator]();
  const next = (what) => withTimeout(it.next(), 5000, what).then((r) => r.value);
  let pending = it.next(); // opens the connection and subscribes
  try {
    assert.ok(await waitFor(async () => (await openStreams()) === before + 1));
    await new Promise((res) => setTimeout(res, 200)); // let the subscribe message arrive

    await api("bob", "POST", `/api/v1/accounts/${env.ids.alice}/follow`);
    let ev = (await withTimeout(pending, 5000, "follow")).value;
    assert.equal(ev.event, "notification");
    assert.equal(ev.payload.type, "follow");
    assert.equal(ev.payload.account.username, "bob");

    const mine = await api("alice", "POST", "/api/v1/statuses", { status: "from alice" });
    ev = await next("own update");
    assert.equal(ev.event, "update");
    assert.equal(ev.payload.id, mine.id);

    await api("bob", "POST", `/api/v1/statuses/${mine.id}/favourite`);
    ev = await next("favourite");
    assert.equal(ev.event, "notification");
    assert.equal(ev.payload.type, "favourite");
    assert.equal(ev.payload.status.id, mine.id);

    const reply = await api("bob", "POST", "/api/v1/statuses",
      { status: "@alice replying", in_reply_to_id: mine.id });
    ev = await next("mention");
    assert.equal(ev.payload.type, "mention");
    assert.equal(ev.payload.status.id, reply.id);
    assert.equal(ev.payload.status.inReplyToId, mine.id); // camel-cased by masto.js

    await api("alice", "POST", `/api/v1/accounts/${env.ids.bob}/follow`);
    const news = await api("bob", "POST", "/api/v1/statuses", { status: "bob's news" });
    ev = await next("update of a followed account");
    assert.equal(ev.event, "update");
    assert.equal(ev.payload.id, news.id);
    assert.equal(ev.payload.account.username, "bob");

    await api("bob", "DELETE", `/api/v1/statuses/${news.id}`);
    ev = await next("delete");
    assert.equal(ev.event, "delete");
    assert.equal(ev.payload, news.id);
  } finally {
    sub.unsubscribe();
    client.close();
  }
});

test("Chromium opens the WebSocket with the token as subprotocol and gets a notification", async () => {
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${env.base}/api/v1/streaming/health`);
    const wsUrl = env.base.replace(/^http/, "ws") + "/api/v1/streaming";
    const opened = await page.evaluate(({ url, token }) => new Promise((resolve) => {
      const ws = new WebSocket(url, [token]);
      window.frames_ = [];
      ws.onmessage = (e) => window.frames_.push(e.data);
      ws.onopen = () => {
        ws.send(JSON.stringify({ type: "subscribe", stream: "user" }));
        resolve({ ok: true, protocol: ws.protocol });
      };
      ws.onerror = () => resolve({ ok: false });
      window.ws_ = ws;
    }), { url: wsUrl, token: env.tokens.carol });
    assert.deepEqual(opened, { ok: true, protocol: env.tokens.carol });
    await new Promise((res) => setTimeout(res, 200));
    const st = await api("carol", "POST", "/api/v1/statuses", { status: "like this" });
    await api("bob", "POST", `/api/v1/statuses/${st.id}/favourite`);
    await page.waitForFunction(() => window.frames_.some((f) => JSON.parse(f).event === "notification"),
      null, { timeout: 5000 });
    const frames = (await page.evaluate(() => window.frames_)).map((f) => JSON.parse(f));
    const note = frames.find((f) => f.event === "notification");
    assert.deepEqual(note.stream, ["user"]);
    const payload = JSON.parse(note.payload);
    assert.equal(payload.type, "favourite");
    assert.equal(payload.account.username, "bob");
    assert.equal(payload.status.id, st.id);
  } finally {
    await browser.close();
  }
});
