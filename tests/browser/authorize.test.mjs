// authorize.test.mjs - sign-in through the /oauth/authorize page in a real headless Chromium
// (Debian's /usr/bin/chromium via playwright-core), authorization_code + PKCE, then REST calls
// with masto.js 7 - clients we did not write - against the real threadly-service.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";
import { createRestAPIClient } from "masto";

const BIN = process.env.THREADLY_CORE_BIN;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
let service, base;

function startService() {
  const dataDir = mkdtempSync(join(tmpdir(), "threadly-browser-"));
  const proc = spawn(BIN, ["--port", "0", "--data-dir", dataDir, "--argon2-ops", "1",
    "--argon2-mem-kib", "8", "--signup-limit", "1000", "--login-limit", "1000"],
    { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("threadly-service did not start")), 15000);
    createInterface({ input: proc.stderr }).on("line", (line) => {
      try {
        const rec = JSON.parse(line);
        if (rec.msg === "listening") {
          clearTimeout(timer);
          resolve({ proc, port: rec.port });
        }
      } catch { /* not a log line */ }
    });
    proc.on("exit", (code) => reject(new Error(`threadly-service exited with ${code}`)));
  });
}

before(async () => {
  assert.ok(BIN, "THREADLY_CORE_BIN must name the threadly-service binary");
  service = await startService();
  base = `http://127.0.0.1:${service.port}`;
});

after(() => {
  service?.proc.kill("SIGTERM");
});

const b64url = (buf) => buf.toString("base64url");

async function form(path, fields) {
  const r = await fetch(base + path, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
  return { status: r.status, json: await r.json() };
}

test("sign in with the authorize page in Chromium, then use masto.js", async () => {
  const anon = createRestAPIClient({ url: base });
  const callback = `${base}/oauth-callback`;
  const app = await anon.v1.apps.create({
    clientName: "Browser <test>", redirectUris: callback, scopes: "read write",
  });
  const appToken = await form("/oauth/token", {
    grant_type: "client_credentials", client_id: app.clientId,
    client_secret: app.clientSecret, scope: "write",
  });
  assert.equal(appToken.status, 200);
  const registrar = createRestAPIClient({ url: base, accessToken: appToken.json.access_token });
  await registrar.v1.accounts.create({
    username: "browser_user", email: "browser@example.org", password: "correct horse battery",
    agreement: true, locale: "en",
  });

  const verifier = b64url(randomBytes(40));
  const challenge = b64url(createHash("sha256").update(verifier).digest());
  const authorize = `${base}/oauth/authorize?` + new URLSearchParams({
    response_type: "code", client_id: app.clientId, redirect_uri: callback,
    scope: "read write", state: "s-42", code_challenge: challenge,
    code_challenge_method: "S256",
  });

  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  let code, state;
  try {
    const page = await browser.newPage();
    const response = await page.goto(authorize);
    assert.equal(response.status(), 200);
    assert.match(await page.textContent("h1"), /Browser <test>/); // shown as text, not markup
    await page.fill("#username", "browser_user");
    await page.fill("#password", "wrong password");
    await page.click("#authorize");
    assert.match(await page.textContent(".error"), /Wrong email, username or password/);
    await page.fill("#password", "correct horse battery");
    await Promise.all([page.waitForURL((u) => u.href.startsWith(callback)), page.click("#authorize")]);
    if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
    const landed = new URL(page.url());
    code = landed.searchParams.get("code");
    state = landed.searchParams.get("state");
  } finally {
    await browser.close();
  }
  assert.equal(state, "s-42");
  assert.ok(code);

  const token = await form("/oauth/token", {
    grant_type: "authorization_code", code, redirect_uri: callback, code_verifier: verifier,
    client_id: app.clientId, client_secret: app.clientSecret,
  });
  assert.equal(token.status, 200, JSON.stringify(token.json));

  const masto = createRestAPIClient({ url: base, accessToken: token.json.access_token });
  const me = await masto.v1.accounts.verifyCredentials();
  assert.equal(me.username, "browser_user");
  const posted = await masto.v1.statuses.create({ status: "posted from masto.js #web" });
  assert.equal(posted.account.id, me.id);
  assert.deepEqual(posted.tags.map((t) => t.name), ["web"]);
  const home = await masto.v1.timelines.home.list({ limit: 5 });
  assert.equal(home[0].id, posted.id);
  const again = await form("/oauth/token", {
    grant_type: "authorization_code", code, redirect_uri: callback, code_verifier: verifier,
    client_id: app.clientId, client_secret: app.clientSecret,
  });
  assert.equal(again.status, 400); // a code works once
});
