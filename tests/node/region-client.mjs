// Long-lived driver of many stock socket.io-client 4.8 sockets for the Redis-mode tests
// (tests/Gateway.Tests/Redis/RegionClient.cs). One JSON command per line on stdin, one JSON reply per command on
// stdout ({"id":<command id>,"ok":true,...} or {"id":…,"ok":false,"error":"…"}); commands run one after the other.
//
//   node region-client.mjs [--max-ms 150000]
//
// Every socket has an index (0, 1, … in creation order) and a group name. "which" selects sockets: omitted or "all",
// an array of indexes, {"group":"a"}, or {"from":0,"to":10} (to exclusive).
//
// Commands ("cmd"):
//   connect    {url, count, group?, transports?=["websocket"] ("default": socket.io-client's own, polling then
//               upgrade), auth?, batch?=50, timeoutMs?=10000,
//               reconnectionDelay?=200, reconnectionDelayMax?=1000, stopOnError?=false}
//              -> {indexes, connected, failed:[{index,error}], ms}; with stopOnError a connect_error (a CONNECT_ERROR
//              from the server) ends the wait at once, its error being "connect_error: <message>"
//   drop       {which, hold?=false}: closes each socket's transport (socket.io.engine.close()), which the server sees
//              as a transport close (the session stays recoverable); hold=true stops the Manager from reconnecting
//              until "resume". -> {dropped}
//   resume     {which, url?, timeoutMs?=10000}: points the Manager at url (socket.io.uri, read by the next
//              `new Engine(uri, opts)`), re-enables reconnection and connects -> {sockets:[{index,id,connected,recovered}]}
//   retarget   {which, url}: only sets socket.io.uri (for the Manager's own automatic reconnection) -> {retargeted}
//   answer     {which, promptId?, choice?, payload?, event?="answer", timeoutMs?=5000}: emit with an ack, all at once
//              -> {results:[{index,id,ack:[…]|null,error,ms}]}
//   wait       {which, event?="prompt", tag?, count, timeoutMs?=10000}: until each selected socket has >= count such
//              events (with tag: only those whose first argument's "tag" is it) -> {done, counts:{"<n>":sockets}}
//   connected  {which, transport?, timeoutMs?=10000}: until each selected socket is connected (and, with transport,
//              its engine's transport is that one: "websocket" once upgraded) -> {done, connected, transports:{name:n}}
//   report     {which, events?=true, clear?=false}: per socket {index, group, url, id, pid (the CONNECT reply's
//              private session id, socket.io-client's socket._pid; null without recovery), transport (the engine's
//              current transport: "polling" or "websocket"; null while closed), connected, recovered,
//              connects:[{t,id,recovered}], disconnects:[{t,reason}], errors:[{t,message}], events:[{ev,args,t}]}
//              (t = Date.now() when the client saw it; args as received, the trailing offset included)
//   disconnect {which}: socket.disconnect() (a client disconnect: not recoverable) -> {disconnected}
//   exit       disconnects everything and exits.
// The worker also exits by itself on EOF of stdin and after --max-ms (printing {"type":"timeout"}).

import { io } from "socket.io-client";
import readline from "node:readline";
import { plain } from "./plain.mjs";

let maxMs = 150000;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--max-ms") maxMs = Number(argv[++i]);
  else {
    process.stderr.write(`region-client: unknown argument ${argv[i]}\n`);
    process.exit(64);
  }
}

const clients = [];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const write = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");


function select(which) {
  if (which === undefined || which === null || which === "all") return clients;
  if (Array.isArray(which)) {
    return which.map((i) => {
      if (!clients[i]) throw new Error(`no socket ${i} (have ${clients.length})`);
      return clients[i];
    });
  }
  if (typeof which === "object" && typeof which.group === "string") return clients.filter((c) => c.group === which.group);
  if (typeof which === "object" && typeof which.from === "number") return clients.slice(which.from, which.to ?? clients.length);
  throw new Error(`bad "which": ${JSON.stringify(which)}`);
}

/** Resolves true once every client satisfies predicate, false after ms. */
async function until(list, predicate, ms) {
  const deadline = Date.now() + ms;
  while (!list.every(predicate)) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

function createClient(cmd, index) {
  const socket = io(cmd.url, {
    forceNew: true,
    ...(cmd.transports === "default" ? {} : { transports: cmd.transports ?? ["websocket"] }),
    reconnection: true,
    reconnectionDelay: cmd.reconnectionDelay ?? 200,
    reconnectionDelayMax: cmd.reconnectionDelayMax ?? 1000,
    timeout: cmd.timeoutMs ?? 10000,
    ...(cmd.auth ? { auth: cmd.auth } : {}),
  });
  const c = {
    index, group: cmd.group ?? "default", url: cmd.url, socket,
    connects: [], disconnects: [], errors: [], events: [],
  };
  socket.on("connect", () => c.connects.push({ t: Date.now(), id: socket.id, recovered: Boolean(socket.recovered) }));
  socket.on("disconnect", (reason) => c.disconnects.push({ t: Date.now(), reason: String(reason) }));
  socket.on("connect_error", (err) => c.errors.push({ t: Date.now(), message: String(err?.message ?? err) }));
  socket.onAny((ev, ...args) => c.events.push({ ev, args: plain(args), t: Date.now() }));
  clients.push(c);
  return c;
}

/** The engine's current transport ("polling" until the upgrade, then "websocket"), or null while it is closed. */
function transportOf(c) {
  const engine = c.socket.io.engine;
  return engine && engine.readyState === "open" ? engine.transport?.name ?? null : null;
}

function waitConnect(c, ms, stopOnError = false) {
  const socket = c.socket;
  if (socket.connected) return Promise.resolve(null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(`timed out after ${ms} ms waiting for connect`), ms);
    const onConnect = () => done(null);
    const onError = (err) => done(`connect_error: ${String(err?.message ?? err)}`);
    function done(error) {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
      resolve(error);
    }
    socket.on("connect", onConnect);
    if (stopOnError) socket.on("connect_error", onError);
  });
}

const commands = {
  async connect(cmd) {
    const count = cmd.count ?? 1;
    const batch = cmd.batch ?? 50;
    const start = Date.now();
    const created = [];
    const failed = [];
    for (let i = 0; i < count; i += batch) {
      const chunk = [];
      for (let j = i; j < Math.min(count, i + batch); j++) {
        const c = createClient(cmd, clients.length);
        created.push(c);
        chunk.push(waitConnect(c, cmd.timeoutMs ?? 10000, Boolean(cmd.stopOnError)).then((error) => {
          if (error) failed.push({ index: c.index, error: error + (c.errors.length ? ` (last connect_error: ${c.errors.at(-1).message})` : "") });
        }));
      }
      await Promise.all(chunk);
    }
    return { indexes: created.map((c) => c.index), connected: created.filter((c) => c.socket.connected).length, failed, ms: Date.now() - start };
  },

  async drop(cmd) {
    const list = select(cmd.which);
    for (const c of list) {
      if (cmd.hold) c.socket.io.reconnection(false);
      c.socket.io.engine?.close();
    }
    await until(list, (c) => !c.socket.connected, 5000);
    return { dropped: list.filter((c) => !c.socket.connected).length };
  },

  async resume(cmd) {
    const list = select(cmd.which);
    const ms = cmd.timeoutMs ?? 10000;
    const waits = list.map((c) => {
      if (cmd.url) {
        c.socket.io.uri = cmd.url;
        c.url = cmd.url;
      }
      c.socket.io.reconnection(true);
      const wait = waitConnect(c, ms);
      c.socket.connect();
      return wait;
    });
    const errors = await Promise.all(waits);
    return {
      sockets: list.map((c, i) => ({ index: c.index, id: c.socket.id ?? null, connected: c.socket.connected, recovered: Boolean(c.socket.recovered), error: errors[i] })),
    };
  },

  async retarget(cmd) {
    const list = select(cmd.which);
    for (const c of list) {
      c.socket.io.uri = cmd.url;
      c.url = cmd.url;
    }
    return { retargeted: list.length };
  },

  async answer(cmd) {
    const list = select(cmd.which);
    const ms = cmd.timeoutMs ?? 5000;
    const event = cmd.event ?? "answer";
    const payload = cmd.payload ?? { promptId: cmd.promptId, choice: cmd.choice ?? 1 };
    const results = await Promise.all(list.map((c) => new Promise((resolve) => {
      const start = Date.now();
      c.socket.timeout(ms).emit(event, payload, (err, ...reply) => {
        resolve({ index: c.index, id: c.socket.id ?? null, ack: err ? null : plain(reply), error: err ? String(err.message ?? err) : null, ms: Date.now() - start });
      });
    })));
    return { results };
  },

  async wait(cmd) {
    const list = select(cmd.which);
    const event = cmd.event ?? "prompt";
    const count = cmd.count ?? 1;
    const tag = cmd.tag ?? null;
    const matches = (e) => e.ev === event && (tag === null || e.args?.[0]?.tag === tag);
    const n = (c) => c.events.reduce((k, e) => k + (matches(e) ? 1 : 0), 0);
    const done = await until(list, (c) => n(c) >= count, cmd.timeoutMs ?? 10000);
    const counts = {};
    for (const c of list) counts[n(c)] = (counts[n(c)] ?? 0) + 1;
    return { done, counts };
  },

  async connected(cmd) {
    const list = select(cmd.which);
    const wanted = cmd.transport ?? null;
    const done = await until(list, (c) => c.socket.connected && (wanted === null || transportOf(c) === wanted), cmd.timeoutMs ?? 10000);
    const transports = {};
    for (const c of list) transports[transportOf(c)] = (transports[transportOf(c)] ?? 0) + 1;
    return { done, connected: list.filter((c) => c.socket.connected).length, transports };
  },

  async report(cmd) {
    const list = select(cmd.which);
    const sockets = list.map((c) => ({
      index: c.index, group: c.group, url: c.url, id: c.socket.id ?? null, pid: c.socket._pid ?? null, transport: transportOf(c),
      connected: c.socket.connected,
      recovered: Boolean(c.socket.recovered), connects: c.connects, disconnects: c.disconnects, errors: c.errors,
      events: cmd.events === false ? [] : c.events,
    }));
    if (cmd.clear) for (const c of list) c.events = [];
    return { sockets };
  },

  async disconnect(cmd) {
    const list = select(cmd.which);
    for (const c of list) c.socket.disconnect();
    return { disconnected: list.length };
  },

  async exit() {
    setTimeout(() => shutdown(0), 50);
    return {};
  },
};

let shuttingDown = false;
function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  for (const c of clients) {
    try { c.socket.disconnect(); } catch { /* ignore */ }
    try { c.socket.io.engine?.close(); } catch { /* ignore */ }
  }
  // Give the closes a moment to reach the servers, then leave no matter what is still open.
  setTimeout(() => process.exit(code), 150).unref();
}

setTimeout(() => {
  write({ type: "timeout", error: `region-client: hard limit of ${maxMs} ms reached` });
  shutdown(2);
}, maxMs).unref();

let queue = Promise.resolve();
const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    let cmd;
    try {
      cmd = JSON.parse(line);
      const handler = commands[cmd.cmd];
      if (!handler) throw new Error(`unknown command '${cmd.cmd}' (known: ${Object.keys(commands).join(", ")})`);
      const result = await handler(cmd);
      write({ id: cmd.id ?? null, cmd: cmd.cmd, ok: true, ...result });
    } catch (err) {
      write({ id: cmd?.id ?? null, cmd: cmd?.cmd ?? null, ok: false, error: String(err?.stack ?? err) });
    }
  });
});
rl.on("close", () => { queue.then(() => shutdown(0)); });
process.on("unhandledRejection", (err) => {
  write({ type: "error", error: `unhandled rejection: ${err?.stack ?? err}` });
});
write({ type: "ready", pid: process.pid });
