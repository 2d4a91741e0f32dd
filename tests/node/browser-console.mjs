// browser.mjs --scenario console: the operator console on the admin port, opened with the admin token, while three
// viewer pages (/demo/) are connected: it shows the viewer count, publishes a prompt through its form, and shows that
// prompt's recipients and the viewers' answers as they come in. Screenshot: <out>/console.png.
// browser.mjs --scenario console-cost: the console open and closed, alternately, for bench/onscreen (runConsoleCost).
import fs from "node:fs";
import path from "node:path";

// Opens the console in a context of its own and signs in with --token (the login form waits for it when the gateway
// has an admin token; without one the page goes straight to the app).
async function openConsole(browser, opts, WAIT) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${opts.admin}/console/`);
  if (opts.token) {
    await page.waitForSelector("#login:not([hidden])", { timeout: WAIT });
    await page.fill("#token", opts.token);
    await page.click("#login button[type=submit]");
  }
  return { context, page, errors };
}

export async function runConsole({ opts, launch, check, observe, WAIT, CHANNEL }) {
  const browser = await launch();
  const run = Math.random().toString(36).slice(2, 8);
  const viewers = [];
  for (let i = 0; i < 3; i++) {
    const page = await (await browser.newContext({ viewport: { width: 390, height: 780 } })).newPage();
    await page.goto(`${opts.url}/demo/?channel=${CHANNEL}`);
    await page.waitForFunction(() => window.demo && window.demo.viewer.socket.connected, null, { timeout: WAIT });
    viewers.push(page);
  }

  const { page: consolePage, errors } = await openConsole(browser, opts, WAIT);
  check("console asks for the admin token", true, "login form", "login form");

  await consolePage.waitForFunction(() => document.getElementById("viewers").textContent === "3", null, { timeout: WAIT });
  check("console shows the viewer count", true, "3", await consolePage.textContent("#viewers"));

  const id = `console-${run}`;
  await consolePage.fill("#publish [name=channel]", CHANNEL);
  await consolePage.fill("#publish [name=data]", JSON.stringify([{ promptId: id, q: "Which stage next?", choices: ["Main", "Acoustic"] }]));
  await consolePage.fill("#publish [name=revealIn]", "1");
  await consolePage.fill("#publish [name=id]", id);
  await consolePage.click("#publish button[type=submit]");
  await consolePage.waitForFunction(() => document.getElementById("publishResult").textContent !== "", null, { timeout: WAIT });
  const published = await consolePage.textContent("#publishResult");
  check("console publishes through its form", published.startsWith(`Published ${id}`), `Published ${id}…`, published);

  const recipients = await consolePage.waitForFunction((id) => {
    const cell = document.querySelector(`#prompts tr[data-id="${id}"] td.recipients`);
    return cell && Number(cell.textContent) >= 3 ? cell.textContent : null;
  }, id, { timeout: WAIT }).then((h) => h.jsonValue());
  check("console shows the prompt's recipients", Number(recipients) === 3, "3", recipients);

  const acks = [];
  for (let i = 0; i < viewers.length; i++) {
    await viewers[i].waitForFunction((id) => window.demo.shown.some((s) => s.info.id === id), id, { timeout: WAIT });
    acks.push(await viewers[i].evaluate(([id, choice]) => window.demo.viewer.answer(id, { choice }), [id, i === 2 ? 1 : 0]));
  }
  check("viewers' answers are stored", acks.every((a) => a && a.ok), { ok: true }, acks);

  const tally = await consolePage.waitForFunction((id) => {
    const total = document.querySelector(`#prompts tr[data-id="${id}"] .answers-total`);
    return total && total.textContent === "3 answers" ? [...document.querySelectorAll(`#prompts tr[data-id="${id}"] .bar`)].map((b) => b.textContent) : null;
  }, id, { timeout: WAIT }).then((h) => h.jsonValue());
  check("console shows the answers per choice", tally.length === 2 && tally[0] === "02" && tally[1] === "11", ["02", "11"], tally);
  observe("consoleTally", tally);

  if (opts.out) {
    fs.mkdirSync(opts.out, { recursive: true });
    await consolePage.screenshot({ path: path.join(opts.out, "console.png"), fullPage: true });
  }
  check("no script errors in the console", errors.length === 0, [], errors);
}

// The console's cost to the gateway: --windows windows of --window-ms, alternately without and with the console open
// (closed first). An open window starts once the page shows the viewer count, and the page is closed after it ends, so
// each window holds only the console's steady polling; the gateway's count of sockets is read between windows, never
// inside one. Observes each window's bounds (this machine's clock: bench/onscreen reads the gateway's CPU over them
// from its /proc samples) and the requests the open console made in it, by path.
// --warm-up N: first, the paths the console polls (read off its first poll) are each called N times and the JIT is
// given 5 s, so the windows hold the console's steady cost, not the first compile of the admin endpoints (.NET tiers
// a method up after 30 calls, twice: at the console's one call a second, a minute into the first console).
export async function runConsoleCost({ opts, launch, admin, check, observe, WAIT }) {
  const browser = await launch();
  if (opts.warmUp > 0) {
    const first = await openConsole(browser, opts, WAIT);
    const paths = new Set();
    first.page.on("request", (r) => { if (new URL(r.url()).pathname.startsWith("/v1/")) paths.add(new URL(r.url()).pathname + new URL(r.url()).search); });
    await first.page.waitForFunction(() => /^\d+$/.test(document.getElementById("viewers").textContent), null, { timeout: WAIT });
    await new Promise((r) => setTimeout(r, 1500)); // one full poll after the sign-in's
    await first.context.close();
    for (const route of paths) {
      for (let i = 0; i < opts.warmUp; i++) await admin("GET", route);
    }
    observe("warmUp", { paths: [...paths], callsEach: opts.warmUp });
    await new Promise((r) => setTimeout(r, 5000));
  }
  const windows = [];
  for (let w = 0; w < opts.windows; w++) {
    const open = w % 2 === 1;
    const stats = await admin("GET", "/v1/stats");
    let shown = null;
    const requests = [];
    if (open) {
      shown = await openConsole(browser, opts, WAIT);
      shown.page.on("request", (r) => requests.push({ at: Date.now(), path: new URL(r.url()).pathname }));
      await shown.page.waitForFunction(() => /^\d+$/.test(document.getElementById("viewers").textContent), null, { timeout: WAIT });
    }
    const startMs = Date.now();
    await new Promise((r) => setTimeout(r, opts.windowMs));
    const endMs = Date.now();
    const byPath = {};
    for (const r of requests) {
      if (r.at >= startMs && r.at < endMs) byPath[r.path] = (byPath[r.path] || 0) + 1;
    }
    if (shown !== null) {
      check(`window ${w}: the open console polled the admin API`, Object.keys(byPath).length > 0, "requests", byPath);
      check(`window ${w}: no script errors in the console`, shown.errors.length === 0, [], shown.errors);
      await shown.context.close();
    }
    windows.push({ console: open, startMs, endMs, connectionsBefore: stats.json && stats.json.connections, requests: byPath });
  }
  observe("windows", windows);
}
