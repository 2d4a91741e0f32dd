#!/usr/bin/env node
// Drives the stock socket.io-client 4.8 through one end-to-end scenario.
//
//   node client.mjs --scenario NAME --url http://127.0.0.1:P --admin http://127.0.0.1:A
//        [--transport default|websocket|polling] [--timeout ms] [--params JSON] [--local-address IP]
//
// --local-address binds every connection of the client to that local address (e.g. 127.0.0.7), so that a server
// behind a proxy can be shown to see the client's own address.
//
// Prints exactly one JSON line on stdout:
//   {"scenario":..., "ok":bool, "checks":[{"name","ok","expected","actual"}], "observations":{...},
//    "error":string|null, "packets":[...]}   (packets: Engine.IO traffic, only when not ok)
// Exit code: 0 all checks passed, 1 a check failed, 2 error or timeout. Always exits by itself.
//
// Scenario "fanout-worker" is different: it connects many clients, prints {"type":"ready"}, waits
// for a line "report" (or EOF) on stdin, then prints {"type":"report",...} and exits.

import { io } from "socket.io-client";
import http from "node:http";
import { isDeepStrictEqual } from "node:util";
import readline from "node:readline";
import { plain } from "./plain.mjs";

function parseArgs(argv) {
  const opts = { transport: "default", timeout: 20000, params: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => argv[++i];
    switch (arg) {
      case "--scenario": opts.scenario = next(); break;
      case "--url": opts.url = next(); break;
      case "--admin": opts.admin = next(); break;
      case "--transport": opts.transport = next(); break;
      case "--timeout": opts.timeout = Number(next()); break;
      case "--params": opts.params = JSON.parse(next()); break;
      case "--local-address": opts.localAddress = next(); break;
      default:
        process.stderr.write(`client: unknown argument ${arg}\n`);
        process.exit(64);
    }
  }
  if (!opts.scenario || !opts.url) {
    process.stderr.write("client: --scenario and --url are required\n");
    process.exit(64);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------------------------------------
// Result bookkeeping
// ---------------------------------------------------------------------------------------------

const result = { scenario: opts.scenario, transport: opts.transport, ok: true, checks: [], observations: {}, error: null };
const packets = [];
const sockets = new Set();
const MAX_PACKETS = 400;


/** Deep equality that treats Buffer, ArrayBuffer and typed arrays with the same bytes as equal. */
function same(actual, expected) {
  return isDeepStrictEqual(plain(actual), plain(expected));
}

function check(name, actual, expected, ok = same(actual, expected)) {
  result.checks.push({ name, ok, expected: plain(expected), actual: plain(actual) });
  if (!ok) result.ok = false;
  return ok;
}

function checkTrue(name, condition, actual) {
  return check(name, actual === undefined ? condition : actual, actual === undefined ? true : "(condition)", Boolean(condition));
}

function observe(key, value) {
  result.observations[key] = plain(value);
}

let finished = false;
function finish(code) {
  if (finished) return;
  finished = true;
  for (const s of sockets) {
    try { s.disconnect(); } catch { /* ignore */ }
    try { s.io.engine?.close(); } catch { /* ignore */ }
  }
  if (!result.ok || result.error) result.packets = packets.slice(-MAX_PACKETS);
  const exitCode = code ?? (result.error ? 2 : result.ok ? 0 : 1);
  process.exitCode = exitCode;
  process.stdout.write(JSON.stringify(result) + "\n", () => {
    // Give the closes a moment to reach the server, then leave no matter what is still open.
    setTimeout(() => process.exit(exitCode), 100).unref();
  });
}

const hardTimer = setTimeout(() => {
  result.error = result.error ?? `scenario timed out after ${opts.timeout} ms (last step: ${currentStep})`;
  result.ok = false;
  finish(2);
}, opts.timeout);
hardTimer.unref();

let currentStep = "start";
const step = (name) => { currentStep = name; };

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function capture(label, socket) {
  const engineHook = () => {
    const engine = socket.io.engine;
    if (!engine || engine.__captured) return;
    engine.__captured = true;
    const push = (dir) => (packet) => {
      let data = packet.data;
      if (data !== undefined && typeof data !== "string") data = plain(data);
      else if (typeof data === "string" && data.length > 500) data = data.slice(0, 500) + `…(${data.length} chars)`;
      packets.push({ t: Date.now(), conn: label, dir, transport: engine.transport?.name, type: packet.type, data });
      if (packets.length > MAX_PACKETS * 2) packets.splice(0, MAX_PACKETS);
    };
    engine.on("packet", push("in"));
    engine.on("packetCreate", push("out"));
    engine.on("upgrade", (t) => packets.push({ t: Date.now(), conn: label, dir: "--", type: "upgrade", data: t?.name }));
    engine.on("close", (reason, desc) => packets.push({ t: Date.now(), conn: label, dir: "--", type: "engine-close", data: String(reason) + (desc ? ` ${desc?.message ?? desc?.description ?? ""}` : "") }));
  };
  socket.io.on("open", engineHook);
  engineHook();
}

function transportOptions(transport) {
  switch (transport) {
    case "websocket": return { transports: ["websocket"] };
    case "polling": return { transports: ["polling"], upgrade: false };
    case "default": case undefined: return {};
    default: throw new Error(`unknown transport ${transport}`);
  }
}

/** --local-address: polling requests go through an agent bound to it; the WebSocket takes it directly (ws option). */
const localBinding = opts.localAddress
  ? { localAddress: opts.localAddress, agent: new http.Agent({ localAddress: opts.localAddress }) }
  : {};

/** Creates a socket (own Manager unless `manager` opts say otherwise) and tracks it for cleanup. */
function connect(nsp = "/", extra = {}, label = nsp) {
  const url = opts.url.replace(/\/$/, "") + (nsp === "/" ? "" : nsp);
  const socket = io(url, {
    forceNew: true,
    reconnection: false,
    timeout: 5000,
    ...transportOptions(opts.transport),
    ...localBinding,
    ...extra,
  });
  sockets.add(socket);
  capture(label, socket);
  return socket;
}

function waitEvent(emitter, event, ms = 5000, what = event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const handler = (...args) => {
      clearTimeout(timer);
      resolve(args);
    };
    emitter.once(event, handler);
  });
}

async function waitConnect(socket, ms = 5000) {
  if (socket.connected) return;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => cleanup(new Error(`timed out after ${ms} ms waiting for connect`)), ms);
    const onConnect = () => cleanup();
    const onError = (err) => cleanup(new Error(`connect_error: ${err?.message ?? err}`));
    function cleanup(err) {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
      if (err) reject(err); else resolve();
    }
    socket.on("connect", onConnect);
    socket.on("connect_error", onError);
  });
}

/** emit with an ack; resolves with the ack's argument list. */
function call(socket, event, args = [], ms = 5000) {
  return new Promise((resolve, reject) => {
    socket.timeout(ms).emit(event, ...args, (err, ...reply) => {
      if (err) reject(new Error(`no ack for '${event}' within ${ms} ms`));
      else resolve(reply);
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function admin(method, path, body) {
  if (!opts.admin) throw new Error("--admin is required for this scenario");
  const res = await fetch(opts.admin.replace(/\/$/, "") + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

async function publish(body) {
  const res = await admin("POST", "/v1/publish", body);
  check(`publish ${body.namespace ?? "/"}#${body.channel ?? "*"} ${body.event}: status`, res.status, 202);
  checkTrue(`publish ${body.event}: response has id and sequence`,
    res.json && typeof res.json.id === "string" && res.json.id.length > 0 && Number.isInteger(res.json.sequence), res.json);
  return res.json;
}

/** Records every arrival of `event` on each socket. */
function recorder(socketsByName, event) {
  const got = {};
  for (const [name, s] of Object.entries(socketsByName)) {
    got[name] = [];
    s.on(event, (...args) => got[name].push(args));
  }
  return got;
}

async function until(predicate, ms, what) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await sleep(20);
  }
  if (predicate()) return true;
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

const sorted = (list) => [...(list ?? [])].sort();

/**
 * The sentinel for "wait a while and see that nothing else arrives": publishes a "marker" event to every socket of
 * `namespaces`, after whatever must not arrive, and waits until each socket of `socketsByName` got it. The server
 * delivers in order on one connection, so what has not arrived before the marker will not.
 */
let markers = 0;
async function marker(socketsByName, namespaces = ["/"]) {
  const id = `marker-${++markers}`;
  const seen = {};
  const handlers = [];
  for (const [name, s] of Object.entries(socketsByName)) {
    seen[name] = false;
    const handler = (m) => { if (m === id) seen[name] = true; };
    s.on("marker", handler);
    handlers.push([s, handler]);
  }
  for (const ns of namespaces) await publish({ namespace: ns, channel: null, event: "marker", data: [id] });
  await until(() => Object.values(seen).every(Boolean), 30000, `${id} on ${Object.keys(seen).join(", ")}`);
  for (const [s, handler] of handlers) s.off("marker", handler);
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

const scenarios = {
  /** Default transports: polling handshake, then upgrade to websocket. */
  async "transport-default"() {
    step("connect");
    const s = connect("/");
    let initial = null;
    s.io.once("open", () => { initial = s.io.engine.transport.name; });
    await waitConnect(s);
    observe("initialTransport", initial);
    check("initial transport (at Engine.IO open)", initial, "polling");
    step("upgrade");
    if (s.io.engine.transport.name !== "websocket") {
      await waitEvent(s.io.engine, "upgrade", 5000, "transport upgrade");
    }
    check("final transport", s.io.engine.transport.name, "websocket");
    step("time over upgraded transport");
    const [reply] = await call(s, "time");
    checkTrue("time ack has numeric now", reply && Number.isFinite(reply.now), reply);
    const stats = await admin("GET", "/v1/stats");
    observe("stats", stats.json);
    check("stats.connections", stats.json?.connections, 1);
    check("stats.transports", stats.json?.transports, { websocket: 1, polling: 0 });
    check("stats.namespaces['/']", stats.json?.namespaces?.["/"], 1);
    // A server push after all that, instead of waiting 300 ms: a close or downgrade left over from the upgrade would
    // have come first.
    await marker({ s });
    check("still connected", s.connected, true);
    check("still websocket", s.io.engine.transport.name, "websocket");
  },

  /** Single transport (websocket-only or polling-only, from --transport). */
  async "transport-only"() {
    const expected = opts.transport;
    step("connect");
    const s = connect("/");
    await waitConnect(s);
    check("transport at connect", s.io.engine.transport.name, expected);
    const [reply] = await call(s, "time");
    checkTrue("time ack has numeric now", reply && Number.isFinite(reply.now), reply);
    step("several round trips");
    for (let i = 0; i < 5; i++) {
      const r = await call(s, "ack", [i, `n${i}`]);
      check(`round trip ${i}`, r, [i, `n${i}`]);
    }
    step("burst of echoes");
    const got = [];
    s.on("echo", (...args) => got.push(args));
    for (let i = 0; i < 20; i++) s.emit("echo", i);
    await until(() => got.length >= 20, 5000, "20 echoes");
    check("echo burst in order", got.map((a) => a[0]), [...Array(20).keys()]);
    const stats = await admin("GET", "/v1/stats");
    observe("stats", stats.json);
    check("stats.connections", stats.json?.connections, 1);
    check("stats.transports", stats.json?.transports, { websocket: expected === "websocket" ? 1 : 0, polling: expected === "polling" ? 1 : 0 });
    await marker({ s }); // a server push after all that, instead of waiting 500 ms
    check("transport unchanged", s.io.engine.transport.name, expected);
    check("still connected", s.connected, true);
  },

  /** time: ack {now} with the server's clock in ms. */
  async time() {
    const s = connect("/");
    await waitConnect(s);
    const before = Date.now();
    const reply = await call(s, "time");
    const after = Date.now();
    observe("reply", reply);
    check("time ack has one argument", reply.length, 1);
    const now = reply[0]?.now;
    checkTrue("now is an integer", Number.isInteger(now), now);
    checkTrue("now within the call window (±2 s)", now >= before - 2000 && now <= after + 2000, { before, now, after });
    check("time ack object has only 'now'", Object.keys(reply[0] ?? {}), ["now"]);
  },

  /** Acks in both directions, empty acks, unknown events ignored. */
  async acks() {
    const s = connect("/");
    await waitConnect(s);
    step("client -> server ack");
    check("ack echoes args", await call(s, "ack", [1, "two", { three: [3] }, null, true]), [1, "two", { three: [3] }, null, true]);
    check("ack with no args -> empty ack", await call(s, "ack", []), []);
    step("server -> client ack via echo");
    const seen = [];
    s.on("echo", (...args) => {
      const cb = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
      seen.push({ args, hadCallback: Boolean(cb) });
      if (cb) cb("pong", { n: args[0]?.n ?? null });
    });
    const reply = await call(s, "echo", [{ n: 7 }, "ping"]);
    check("client echo handler saw the args", seen[0]?.args, [{ n: 7 }, "ping"]);
    check("server's echo carried an ack request", seen[0]?.hadCallback, true);
    check("original call acked with the client's ack args", reply, ["pong", { n: 7 }]);
    step("echo without ack has no ack request");
    s.emit("echo", "plain");
    await until(() => seen.length >= 2, 5000, "plain echo");
    check("plain echo args", seen[1]?.args, ["plain"]);
    check("plain echo carried no ack request", seen[1]?.hadCallback, false);
    step("concurrent acks");
    const many = await Promise.all([...Array(10).keys()].map((i) => call(s, "ack", [i])));
    check("10 concurrent acks matched to their calls", many, [...Array(10).keys()].map((i) => [i]));
    step("unknown events are ignored");
    s.emit("no-such-event", 1, 2, 3);
    s.emit("no-such-event-with-ack", "x", () => {});
    const [t] = await call(s, "time");
    checkTrue("still answers after unknown events", Number.isFinite(t?.now), t);
    check("still connected", s.connected, true);
  },

  /** Binary arguments both ways through echo/ack. */
  async binary() {
    const s = connect("/");
    await waitConnect(s);
    const a = Buffer.from([0, 1, 2, 3, 254, 255]);
    const b = Buffer.from("héllo binary", "utf8");
    const big = Buffer.alloc(64 * 1024, 0).map((_, i) => (i * 31) & 0xff);
    const payload = [a, { nested: { buf: b, list: [Buffer.from([9]), "text", 42] } }, "plain", big];
    step("echo with several attachments");
    const echoes = [];
    s.on("echo", (...args) => {
      const cb = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
      echoes.push(args);
      if (cb) cb(Buffer.from([7, 7, 7]), { reply: Buffer.from("ack-bin") }, "done");
    });
    s.emit("echo", ...payload);
    await until(() => echoes.length >= 1, 5000, "binary echo");
    check("binary echo identical (4 args, 4 attachments)", echoes[0], payload);
    checkTrue("echoed Buffers arrive as binary", Buffer.isBuffer(echoes[0]?.[0]) && Buffer.isBuffer(echoes[0]?.[1]?.nested?.buf), echoes[0]?.[0]?.constructor?.name);
    step("binary echo with ack (binary acks both ways)");
    const reply = await call(s, "echo", [Buffer.from([1]), { two: Buffer.from([2, 2]) }]);
    check("client saw binary echo with ack", echoes[1], [Buffer.from([1]), { two: Buffer.from([2, 2]) }]);
    check("original call acked with the client's binary ack args", reply, [Buffer.from([7, 7, 7]), { reply: Buffer.from("ack-bin") }, "done"]);
    step("binary through ack event");
    const r2 = await call(s, "ack", [{ deep: [[Buffer.from([5, 6])]] }, Buffer.from([])]);
    check("ack returns binary args (nested, empty buffer)", r2, [{ deep: [[Buffer.from([5, 6])]] }, Buffer.from([])]);
    step("single top-level buffer");
    s.emit("echo", Buffer.from([42]));
    await until(() => echoes.length >= 3, 5000, "single-buffer echo");
    check("single buffer echo", echoes[2], [Buffer.from([42])]);
    step("mixing binary and text packets keeps order");
    for (let i = 0; i < 10; i++) s.emit("echo", i % 2 ? Buffer.from([i]) : i);
    await until(() => echoes.length >= 13, 5000, "10 mixed echoes");
    check("mixed order", echoes.slice(3, 13).map((e) => e[0]), [...Array(10).keys()].map((i) => (i % 2 ? Buffer.from([i]) : i)));
  },

  /** /custom namespace, auth event, unknown namespace. */
  async namespaces() {
    step("connect /custom");
    const c = connect("/custom", { auth: { token: "abc", n: 1 } });
    await waitConnect(c);
    check("/custom connected", c.connected, true);
    check("auth on /custom", await call(c, "auth"), [{ token: "abc", n: 1 }]);
    const [t] = await call(c, "time");
    checkTrue("time on /custom", Number.isFinite(t?.now), t);
    check("ack on /custom", await call(c, "ack", ["x"]), ["x"]);
    step("unknown namespace");
    const bad = connect("/nope", {}, "/nope");
    const [err] = await waitEvent(bad, "connect_error", 5000, "connect_error on /nope");
    observe("unknownNamespaceError", { message: err?.message, data: err?.data ?? null });
    check("connect_error message", err?.message, "Invalid namespace");
    check("unknown namespace socket not connected", bad.connected, false);
    const stats = await admin("GET", "/v1/stats");
    observe("stats", stats.json);
    check("stats.namespaces['/custom']", stats.json?.namespaces?.["/custom"], 1);
  },

  /** Two namespaces multiplexed on one Manager / one Engine.IO session. */
  async multiplex() {
    const base = opts.url.replace(/\/$/, "");
    const { Manager } = await import("socket.io-client");
    const manager = new Manager(base, { reconnection: false, timeout: 5000, ...transportOptions(opts.transport) });
    const main = manager.socket("/", { auth: { channels: ["mx-main"] } });
    const custom = manager.socket("/custom", { auth: { who: "custom" } });
    // io(url) and io(url + "/custom") share the cached Manager; check that path as well.
    const viaIo1 = io(base + "/", { reconnection: false, ...transportOptions(opts.transport) });
    const viaIo2 = io(base + "/custom", { reconnection: false, ...transportOptions(opts.transport) });
    for (const s of [main, custom, viaIo1, viaIo2]) sockets.add(s);
    capture("mgr", main);
    capture("io()", viaIo1);
    check("io(url) and io(url+'/custom') share a Manager", viaIo1.io === viaIo2.io, true);
    await Promise.all([waitConnect(main), waitConnect(custom), waitConnect(viaIo1), waitConnect(viaIo2)]);
    check("auth on / of shared manager", await call(main, "auth"), [{ channels: ["mx-main"] }]);
    check("auth on /custom of shared manager", await call(custom, "auth"), [{ who: "custom" }]);
    check("auth on io() /custom (no auth)", await call(viaIo2, "auth"), [{}]);
    const stats = await admin("GET", "/v1/stats");
    observe("stats", stats.json);
    check("two Engine.IO sessions for two managers", stats.json?.connections, 2);
    check("stats.namespaces", stats.json?.namespaces, { "/": 2, "/custom": 2 });
    step("publish per namespace");
    const got = recorder({ main, custom, viaIo1, viaIo2 }, "prompt");
    await publish({ namespace: "/custom", channel: null, event: "prompt", data: ["to-custom", { n: 1 }] });
    await until(() => got.custom.length >= 1 && got.viaIo2.length >= 1, 5000, "publish on /custom");
    await publish({ namespace: "/", channel: "mx-main", event: "prompt", data: ["to-main-channel"] });
    await until(() => got.main.length >= 1, 5000, "publish on /#mx-main");
    await marker({ main, custom, viaIo1, viaIo2 }, ["/", "/custom"]); // a stray or second copy would have come first
    check("/custom sockets got /custom publish", [got.custom, got.viaIo2], [[["to-custom", { n: 1 }]], [["to-custom", { n: 1 }]]]);
    check("/ channel member got its publish only", got.main, [["to-main-channel"]]);
    check("/ non-member got nothing", got.viaIo1, []);
    step("disconnect one namespace keeps the other");
    custom.disconnect();
    // No wait: /custom's DISCONNECT and this call share the Manager's one connection, so the server has handled the
    // DISCONNECT when it answers.
    const [t] = await call(main, "time");
    checkTrue("/ still works after /custom left", Number.isFinite(t?.now), t);
    const stats2 = await admin("GET", "/v1/stats");
    check("namespaces after /custom socket left", stats2.json?.namespaces, { "/": 2, "/custom": 1 });
    check("connections unchanged", stats2.json?.connections, 2);
  },

  /** Auth payload as seen by the server. */
  async auth() {
    const payload = { channels: ["show-42"], token: "t0k3n", nested: { a: [1, 2, { b: null }] }, unicode: "é✓" };
    const s = connect("/", { auth: payload });
    const none = connect("/", {}, "/(no auth)");
    await Promise.all([waitConnect(s), waitConnect(none)]);
    check("auth returns CONNECT payload", await call(s, "auth"), [payload]);
    check("auth without payload returns {}", await call(none, "auth"), [{}]);
  },

  /** Channels via handshake auth and subscribe/unsubscribe; publish reaches members only. */
  async channels() {
    const a = connect("/", { auth: { channels: ["show-42"] } }, "A");
    const b = connect("/", {}, "B");
    const c = connect("/", {}, "C");
    const d = connect("/custom", { auth: { channels: ["show-42"] } }, "D(/custom)");
    await Promise.all([a, b, c, d].map((s) => waitConnect(s)));
    step("subscribe");
    const subB = (await call(b, "subscribe", ["show-42"]))[0];
    check("subscribe string ok", subB?.ok, true);
    check("subscribe string channels", sorted(subB?.channels), ["show-42"]);
    const subC = (await call(c, "subscribe", [["x", "y", "z"]]))[0];
    check("subscribe array ok", subC?.ok, true);
    check("subscribe array channels", sorted(subC?.channels), ["x", "y", "z"]);
    const unsubC = (await call(c, "unsubscribe", ["x"]))[0];
    check("unsubscribe string ok", unsubC?.ok, true);
    check("unsubscribe leaves the rest", sorted(unsubC?.channels), ["y", "z"]);
    const subA = (await call(a, "subscribe", [["show-42", "extra"]]))[0];
    check("subscribe includes handshake channels", sorted(subA?.channels), ["extra", "show-42"]);
    step("publish to show-42");
    const got = recorder({ a, b, c, d }, "prompt");
    await publish({ namespace: "/", channel: "show-42", event: "prompt", data: [{ q: "first" }, 1] });
    await until(() => got.a.length >= 1 && got.b.length >= 1, 5000, "members to receive publish #1");
    await marker({ a, b, c, d }, ["/", "/custom"]); // a second copy, or one to a non-member, would have come first
    check("A (handshake member) got it once", got.a, [[{ q: "first" }, 1]]);
    check("B (subscribed) got it once", got.b, [[{ q: "first" }, 1]]);
    check("C (not member) got nothing", got.c, []);
    check("D (same channel, other namespace) got nothing", got.d, []);
    step("unsubscribe B and publish again");
    const unsubB = (await call(b, "unsubscribe", [["show-42"]]))[0];
    check("unsubscribe array ok", unsubB?.ok, true);
    check("B has no channels", unsubB?.channels, []);
    await publish({ namespace: "/", channel: "show-42", event: "prompt", data: ["second"] });
    await until(() => got.a.length >= 2, 5000, "A to receive publish #2");
    await marker({ a, b, c, d }, ["/", "/custom"]);
    check("A got second", got.a.slice(1), [["second"]]);
    check("B got nothing after unsubscribe", got.b.length, 1);
    step("publish to all of /");
    await publish({ namespace: "/", channel: null, event: "prompt", data: ["all"] });
    await until(() => got.a.length >= 3 && got.b.length >= 2 && got.c.length >= 1, 5000, "broadcast to /");
    await marker({ a, b, c, d }, ["/", "/custom"]);
    check("broadcast reached A, B, C once each", [got.a.length, got.b.length, got.c.length], [3, 2, 1]);
    check("broadcast on / did not reach /custom", got.d, []);
    step("channel limit");
    const e = connect("/", {}, "E");
    await waitConnect(e);
    const names = [...Array(32).keys()].map((i) => `ch-${i}`);
    const sub32 = (await call(e, "subscribe", [names]))[0];
    check("32 channels ok", sub32?.ok, true);
    check("32 channels listed", sorted(sub32?.channels), sorted(names));
    const sub33 = (await call(e, "subscribe", ["ch-32"]))[0];
    check("33rd channel rejected", sub33, { ok: false, error: "too many channels" });
    const again = (await call(e, "subscribe", ["ch-0"]))[0];
    check("re-subscribing a held channel is fine at the limit", again?.ok, true);
    const f = connect("/", {}, "F");
    await waitConnect(f);
    const big = (await call(f, "subscribe", [[...Array(33).keys()].map((i) => `big-${i}`)]))[0];
    check("33 channels in one subscribe rejected", big, { ok: false, error: "too many channels" });
    const after = (await call(f, "unsubscribe", ["big-0"]))[0];
    check("rejected subscribe joined nothing", after?.channels, []);
  },

  /**
   * Gateway only (issue 10): a publish to a name that cannot be a channel is 400 and reaches nobody; one nobody is
   * in reaches nobody; a socket churning new names is refused, frees what it leaves, and another client still joins
   * a new channel and gets its prompt.
   */
  async "channel-refusals"() {
    const a = connect("/", {}, "A");
    const b = connect("/", { auth: { channels: ["cr-show"] } }, "B");
    await Promise.all([waitConnect(a), waitConnect(b)]);
    const got = recorder({ a, b }, "prompt");
    step("publish to names that cannot be channels");
    for (const channel of ["c".repeat(129), "", 42]) {
      const res = await admin("POST", "/v1/publish", { namespace: "/", channel, event: "prompt", data: ["refused"] });
      check(`publish to ${JSON.stringify(channel).slice(0, 12)}…: 400`, res.status, 400);
    }
    await publish({ namespace: "/", channel: "cr-nobody", event: "prompt", data: ["nobody"] });
    await marker({ a, b });
    check("nothing reached the namespace or the channel", [got.a, got.b], [[], []]);
    step("new-name churn");
    const c = connect("/", {}, "C");
    await waitConnect(c);
    const names = [...Array(32).keys()].map((i) => `cr-churn-${i}`);
    check("32 new names ok", (await call(c, "subscribe", [names]))[0]?.ok, true);
    check("left them", (await call(c, "unsubscribe", [names]))[0]?.channels, []);
    check("a 33rd new name refused", (await call(c, "subscribe", ["cr-churn-more"]))[0], { ok: false, error: "too many new channels" });
    const stats = (await admin("GET", "/v1/stats")).json;
    checkTrue("the churned names were freed", stats?.channels <= 1, stats?.channels);
    step("another client joins a new channel");
    const d = connect("/", { auth: { channels: ["cr-fresh"] } }, "D");
    await waitConnect(d);
    const fresh = waitEvent(d, "prompt", 5000, "the prompt of cr-fresh");
    await publish({ namespace: "/", channel: "cr-fresh", event: "prompt", data: ["fresh"] });
    check("D got the prompt of its new channel", await fresh, ["fresh"]);
  },

  /** POST /v1/disconnect drops the transport; the client reconnects by itself. */
  async reconnect() {
    const s = connect("/", {
      reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0,
      reconnectionAttempts: 20, auth: { channels: ["rc-1"] },
    });
    let connects = 0;
    const reasons = [];
    s.on("connect", () => { connects++; });
    s.on("disconnect", (reason) => reasons.push(reason));
    await waitConnect(s);
    if (opts.transport === "default" && s.io.engine.transport.name !== "websocket") {
      await waitEvent(s.io.engine, "upgrade", 5000, "upgrade before drop").catch(() => {});
    }
    observe("transportBeforeDrop", s.io.engine.transport.name);
    const firstId = s.id;
    step("drop");
    const res = await admin("POST", "/v1/disconnect");
    observe("disconnectResponse", res.json);
    check("disconnect status", res.status, 200);
    check("disconnect closed count", res.json?.closed, 1);
    await until(() => connects >= 2, 8000, "reconnect");
    observe("disconnectReasons", reasons);
    check("disconnect reason", reasons[0], "transport close");
    check("connect fired again", connects, 2);
    checkTrue("new socket id after reconnect", s.id && s.id !== firstId, { firstId, secondId: s.id });
    step("after reconnect");
    const [t] = await call(s, "time");
    checkTrue("time after reconnect", Number.isFinite(t?.now), t);
    const got = recorder({ s }, "prompt");
    await publish({ namespace: "/", channel: "rc-1", event: "prompt", data: ["after-reconnect"] });
    await until(() => got.s.length >= 1, 5000, "publish after reconnect");
    check("handshake channels rejoined after reconnect", got.s, [["after-reconnect"]]);
    const stats = await admin("GET", "/v1/stats");
    check("one session after reconnect", stats.json?.connections, 1);
  },

  /** Heartbeats keep an idle connection alive (run against a server with short ping interval). */
  async heartbeat() {
    const s = connect("/");
    await waitConnect(s);
    let pings = 0;
    s.io.engine.on("ping", () => { pings++; });
    const reasons = [];
    s.on("disconnect", (r) => reasons.push(r));
    const idle = opts.params.idleMs ?? 2000;
    // Staying idle this long (beyond the server's ping interval + timeout) is the thing under test: a sleep.
    await sleep(idle);
    const interval = opts.params.pingInterval ?? 250;
    const expected = Math.floor(idle / interval / 2);
    // The pings, though, are waited for, not counted at a deadline: a loaded machine may have sent them late.
    await until(() => pings >= expected, 30000, `${expected} pings`).catch(() => {});
    observe("pings", pings);
    checkTrue(`received pings while idle (>= ${expected})`, pings >= expected, pings);
    check("no disconnect while idle", reasons, []);
    check("still connected", s.connected, true);
    const [t] = await call(s, "time");
    checkTrue("time after idle", Number.isFinite(t?.now), t);
  },
};

// ---------------------------------------------------------------------------------------------
// Fan-out worker
// ---------------------------------------------------------------------------------------------

async function fanoutWorker() {
  const p = opts.params;
  const members = p.members ?? 0;
  const nonMembers = p.nonMembers ?? 0;
  const channel = p.channel ?? "show-42";
  const event = p.event ?? "prompt";
  const batch = p.batch ?? 50;
  // The sentinel: the test publishes this event to the whole namespace after the prompt; every client waits for it.
  const markerEvent = p.markerEvent ?? "marker";
  const clients = [];
  const specs = [
    ...Array.from({ length: members }, () => ({ member: true })),
    ...Array.from({ length: nonMembers }, () => ({ member: false })),
  ];
  const start = Date.now();
  for (let i = 0; i < specs.length; i += batch) {
    const chunk = specs.slice(i, i + batch).map((spec) => {
      const s = io(opts.url, {
        forceNew: true, reconnection: false, timeout: 10000, ...transportOptions(opts.transport),
        auth: spec.member ? { channels: [channel] } : { channels: ["other-channel"] },
      });
      sockets.add(s);
      const client = { ...spec, socket: s, received: [], marked: false };
      s.on(event, (...args) => client.received.push(args));
      s.on(markerEvent, () => { client.marked = true; });
      clients.push(client);
      return waitConnect(s, 10000);
    });
    await Promise.all(chunk);
  }
  process.stdout.write(JSON.stringify({ type: "ready", clients: clients.length, connectMs: Date.now() - start }) + "\n");

  await new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin });
    rl.on("line", (line) => { if (line.trim() === "report") { rl.close(); resolve(); } });
    rl.on("close", resolve);
  });
  // Until every client has the marker, published after the prompt: what a client has not got by then (a copy, a
  // member's prompt, an outsider's stray one) it will not get.
  const waitMs = p.waitMs ?? 30000;
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && clients.some((c) => !c.marked)) await sleep(20);
  const unmarked = clients.filter((c) => !c.marked).length;
  const memberCounts = {};
  const nonMemberCounts = {};
  let disconnected = 0;
  for (const c of clients) {
    const key = String(c.received.length);
    const into = c.member ? memberCounts : nonMemberCounts;
    into[key] = (into[key] ?? 0) + 1;
    if (!c.socket.connected) disconnected++;
  }
  const sample = clients.find((c) => c.member && c.received.length > 0)?.received[0];
  const bad = clients.filter((c) => c.member && c.received.length > 0 && !same(c.received[0], sample)).length;
  result.type = "report";
  Object.assign(result, {
    members, nonMembers, memberCounts, nonMemberCounts, disconnected, sample: plain(sample ?? null), mismatchedPayloads: bad, unmarked,
  });
  result.ok = (memberCounts["1"] ?? 0) === members && (nonMemberCounts["0"] ?? 0) === nonMembers && bad === 0 && unmarked === 0;
}

// ---------------------------------------------------------------------------------------------

process.on("unhandledRejection", (err) => {
  result.error = result.error ?? `unhandled rejection at step '${currentStep}': ${err?.stack ?? err}`;
  result.ok = false;
  finish(2);
});

try {
  if (opts.scenario === "fanout-worker") {
    await fanoutWorker();
  } else {
    const run = scenarios[opts.scenario];
    if (!run) throw new Error(`unknown scenario '${opts.scenario}' (known: ${Object.keys(scenarios).join(", ")}, fanout-worker)`);
    await run();
  }
} catch (err) {
  result.error = `step '${currentStep}': ${err?.message ?? err}`;
  result.ok = false;
}
finish();
