// browser.mjs --scenario console: the operator console on the admin port, opened with the admin token, while three
// viewer pages (/demo/) are connected: it shows the viewer count, publishes a prompt through its form, and shows that
// prompt's recipients and the viewers' answers as they come in. Screenshot: <out>/console.png.
import fs from "node:fs";
import path from "node:path";

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

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const consolePage = await context.newPage();
  const errors = [];
  consolePage.on("pageerror", (e) => errors.push(String(e)));
  await consolePage.goto(`${opts.admin}/console/`);
  await consolePage.waitForSelector("#login:not([hidden])", { timeout: WAIT });
  check("console asks for the admin token", true, "login form", "login form");
  await consolePage.fill("#token", opts.token);
  await consolePage.click("#login button[type=submit]");

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
