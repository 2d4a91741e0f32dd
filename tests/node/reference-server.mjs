#!/usr/bin/env node
// Reference implementation of the Gateway contract on Node's real socket.io 4.8 server.
//
// Every end-to-end scenario runs against this server and against our gateway, so this file is
// the executable statement of the contract. The load generator uses it as its baseline too.
//
//   node reference-server.mjs --port P --admin-port A [--host 127.0.0.1]
//        [--namespaces /,/custom] [--ping-interval ms] [--ping-timeout ms] [--echo]
//        [--max-channels 32] [--redis-adapter redis://127.0.0.1:6379] [--exit-on-stdin-close] [--verbose]
//
// --redis-adapter: run as one node of a cluster, the original system's architecture: @socket.io/redis-adapter over
// that Redis, so a publish on any node's admin port reaches the sockets of every node (bench/vs-socketio-cluster).
// Without it the server is standalone (socket.io's in-memory adapter).
//
// Public port: Socket.IO at /socket.io/ (Engine.IO v4, Socket.IO v5), polling and websocket.
// Admin port (plain HTTP): POST /v1/publish, GET /healthz, GET /readyz, GET /v1/stats,
// POST /v1/disconnect. Prints one JSON line {"event":"listening",...} on stdout once both
// ports are bound; logs go to stderr.

import http from "node:http";
import { randomUUID } from "node:crypto";
import { Server } from "socket.io";

const RESERVED_EVENTS = new Set([
  "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
]);

function usage(message) {
  process.stderr.write(`reference-server: ${message}\n` +
    "usage: node reference-server.mjs --port P --admin-port A [--host H] [--namespaces /,/custom]\n" +
    "       [--ping-interval ms] [--ping-timeout ms] [--echo] [--max-channels N]\n" +
    "       [--redis-adapter URL] [--exit-on-stdin-close] [--verbose]\n");
  process.exit(64);
}

function parseArgs(argv) {
  const opts = {
    port: undefined,
    adminPort: undefined,
    host: "127.0.0.1",
    namespaces: ["/"],
    pingInterval: 25000,
    pingTimeout: 20000,
    echo: false,
    maxChannels: 32,
    redisAdapter: undefined,
    exitOnStdinClose: false,
    verbose: false,
  };
  const intArg = (name, value) => {
    if (value === undefined || !/^\d+$/.test(value)) usage(`${name} needs a non-negative integer`);
    return Number(value);
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => (inline !== undefined ? inline : argv[++i]);
    switch (arg) {
      case "--port": opts.port = intArg(arg, next()); break;
      case "--admin-port": opts.adminPort = intArg(arg, next()); break;
      case "--host": opts.host = next(); break;
      case "--namespaces": {
        const list = String(next() ?? "").split(",").map((s) => s.trim()).filter(Boolean);
        if (list.length === 0 || list.some((n) => !n.startsWith("/"))) {
          usage("--namespaces needs a comma-separated list of names starting with '/'");
        }
        opts.namespaces = [...new Set(list)];
        break;
      }
      case "--ping-interval": opts.pingInterval = intArg(arg, next()); break;
      case "--ping-timeout": opts.pingTimeout = intArg(arg, next()); break;
      case "--max-channels": opts.maxChannels = intArg(arg, next()); break;
      case "--redis-adapter": {
        const url = next();
        if (typeof url !== "string" || !/^rediss?:\/\//.test(url)) usage("--redis-adapter needs a redis:// URL");
        opts.redisAdapter = url;
        break;
      }
      case "--echo": opts.echo = true; break;
      case "--exit-on-stdin-close": opts.exitOnStdinClose = true; break;
      case "--verbose": opts.verbose = true; break;
      case "--help": case "-h": usage("help"); break;
      default: usage(`unknown argument ${argv[i]}`);
    }
  }
  if (opts.port === undefined) usage("--port is required");
  if (opts.adminPort === undefined) usage("--admin-port is required");
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const log = (...parts) => {
  if (opts.verbose) process.stderr.write(`[reference-server] ${parts.join(" ")}\n`);
};

// ---------------------------------------------------------------------------------------------
// Public Socket.IO server
// ---------------------------------------------------------------------------------------------

const publicHttp = http.createServer((req, res) => {
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
});

const io = new Server(publicHttp, {
  path: "/socket.io/",
  transports: ["polling", "websocket"],
  allowUpgrades: true,
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  serveClient: false,
  allowEIO3: false,
  maxHttpBufferSize: 1e6,
  connectTimeout: 45000,
});

/** Channel names accepted from clients: non-empty strings of reasonable length. */
function isChannelName(value) {
  return typeof value === "string" && value.length > 0 && value.length <= 256;
}

/** Normalises a subscribe/unsubscribe argument to a list of names, or null if malformed. */
function channelList(arg) {
  const list = Array.isArray(arg) ? arg : [arg];
  if (list.length === 0 || !list.every(isChannelName)) return null;
  return [...new Set(list)];
}

/** Splits socket.io's "args + optional trailing ack function". */
function splitAck(args) {
  if (args.length > 0 && typeof args[args.length - 1] === "function") {
    return { args: args.slice(0, -1), ack: args[args.length - 1] };
  }
  return { args, ack: undefined };
}

function attach(nsp) {
  nsp.on("connection", (socket) => {
    // The channels this socket asked for; socket.rooms also holds the socket's own id room.
    const channels = new Set();
    const auth = socket.handshake.auth ?? {};
    if (auth && Array.isArray(auth.channels)) {
      for (const name of auth.channels) {
        if (isChannelName(name) && channels.size < opts.maxChannels) channels.add(name);
      }
      if (channels.size > 0) socket.join([...channels]);
    }
    log(`connect ${nsp.name} ${socket.id} transport=${socket.conn.transport.name} channels=${[...channels]}`);

    socket.on("time", (...raw) => {
      const { ack } = splitAck(raw);
      if (ack) ack({ now: Date.now() });
    });

    socket.on("subscribe", (...raw) => {
      const { args, ack } = splitAck(raw);
      const list = channelList(args[0]);
      if (list === null) {
        if (ack) ack({ ok: false, error: "invalid channel" });
        return;
      }
      const added = list.filter((name) => !channels.has(name));
      if (channels.size + added.length > opts.maxChannels) {
        if (ack) ack({ ok: false, error: "too many channels" });
        return;
      }
      for (const name of added) channels.add(name);
      if (added.length > 0) socket.join(added);
      if (ack) ack({ ok: true, channels: [...channels] });
    });

    socket.on("unsubscribe", (...raw) => {
      const { args, ack } = splitAck(raw);
      const list = channelList(args[0]);
      if (list === null) {
        if (ack) ack({ ok: false, error: "invalid channel" });
        return;
      }
      for (const name of list) {
        if (channels.delete(name)) socket.leave(name);
      }
      if (ack) ack({ ok: true, channels: [...channels] });
    });

    if (opts.echo) {
      socket.on("echo", (...raw) => {
        const { args, ack } = splitAck(raw);
        if (ack) {
          // Ask the client to ack our echo, then answer its original call with that ack's args.
          socket.emit("echo", ...args, (...reply) => ack(...reply));
        } else {
          socket.emit("echo", ...args);
        }
      });

      socket.on("ack", (...raw) => {
        const { args, ack } = splitAck(raw);
        if (ack) ack(...args);
      });

      socket.on("auth", (...raw) => {
        const { ack } = splitAck(raw);
        if (ack) ack(auth ?? {});
      });
    }

    socket.on("disconnect", (reason) => {
      log(`disconnect ${nsp.name} ${socket.id} reason=${reason}`);
    });
  });
}

// The main namespace always exists in socket.io; it only gets the contract's handlers when listed.
// A client connecting to an unlisted namespace gets connect_error "Invalid namespace".
if (!opts.namespaces.includes("/")) {
  io.of("/").use((socket, next) => {
    const err = new Error("Invalid namespace");
    next(err);
  });
}
for (const name of opts.namespaces) attach(io.of(name));

// ---------------------------------------------------------------------------------------------
// Admin HTTP server
// ---------------------------------------------------------------------------------------------

let sequence = 0;

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}

function readBody(req, limit = 1 << 20) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(Object.assign(new Error("body too large"), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function stats() {
  const transports = { websocket: 0, polling: 0 };
  for (const client of Object.values(io.engine.clients)) {
    const name = client.transport?.name;
    if (name === "websocket") transports.websocket++;
    else if (name === "polling") transports.polling++;
    else transports[name] = (transports[name] ?? 0) + 1;
  }
  const namespaces = {};
  for (const name of opts.namespaces) namespaces[name] = io.of(name).sockets.size;
  return { connections: io.engine.clientsCount, transports, namespaces };
}

async function publish(req, res) {
  let body;
  try {
    body = JSON.parse(await readBody(req));
  } catch (err) {
    sendJson(res, err.status ?? 400, { error: err.status ? err.message : "invalid JSON" });
    return;
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    sendJson(res, 400, { error: "body must be a JSON object" });
    return;
  }
  const namespace = body.namespace ?? "/";
  const channel = body.channel ?? null;
  const event = body.event;
  const data = body.data ?? [];
  if (typeof namespace !== "string" || !opts.namespaces.includes(namespace)) {
    sendJson(res, 404, { error: "unknown namespace" });
    return;
  }
  if (channel !== null && !isChannelName(channel)) {
    sendJson(res, 400, { error: "channel must be null or a non-empty string" });
    return;
  }
  if (typeof event !== "string" || event.length === 0 || RESERVED_EVENTS.has(event)) {
    sendJson(res, 400, { error: "event must be a non-reserved, non-empty string" });
    return;
  }
  if (!Array.isArray(data)) {
    sendJson(res, 400, { error: "data must be an array" });
    return;
  }
  const nsp = io.of(namespace);
  const target = channel === null ? nsp : nsp.to(channel);
  target.emit(event, ...data);
  sequence += 1;
  const id = randomUUID();
  log(`publish ${id} seq=${sequence} ns=${namespace} channel=${channel} event=${event}`);
  sendJson(res, 202, { id, sequence });
}

function disconnectAll(res) {
  const clients = Object.values(io.engine.clients);
  for (const client of clients) {
    // Closes the Engine.IO session's transport; the client sees "transport close" and reconnects.
    client.close();
  }
  log(`disconnect-all closed=${clients.length}`);
  sendJson(res, 200, { closed: clients.length });
}

let ready = false;

const adminHttp = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://admin");
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case "GET /healthz":
      sendJson(res, 200, { status: "ok" });
      return;
    case "GET /readyz":
      sendJson(res, ready ? 200 : 503, { status: ready ? "ready" : "starting" });
      return;
    case "GET /v1/stats":
      sendJson(res, 200, stats());
      return;
    case "POST /v1/publish":
      publish(req, res).catch((err) => sendJson(res, 500, { error: String(err?.message ?? err) }));
      return;
    case "POST /v1/disconnect":
      disconnectAll(res);
      return;
    default: {
      const known = ["/healthz", "/readyz", "/v1/stats", "/v1/publish", "/v1/disconnect"];
      sendJson(res, known.includes(url.pathname) ? 405 : 404, { error: "not found" });
    }
  }
});

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address().port);
    });
  });
}

let shuttingDown = false;
function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  ready = false;
  log("shutting down");
  const force = setTimeout(() => process.exit(code), 2000);
  force.unref();
  io.close(() => {
    adminHttp.close(() => process.exit(code));
    adminHttp.closeAllConnections?.();
  });
}

process.on("SIGTERM", () => shutdown(0));
process.on("SIGINT", () => shutdown(0));
if (opts.exitOnStdinClose) {
  process.stdin.on("end", () => shutdown(0));
  process.stdin.on("error", () => shutdown(0));
  process.stdin.resume();
}

/** With --redis-adapter: every node's broadcasts go through Redis pub/sub to the other nodes' sockets. */
async function useRedisAdapter(url) {
  // Loaded only here, so a standalone server starts as before.
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const { createClient } = await import("redis");
  const pubClient = createClient({ url });
  const subClient = pubClient.duplicate();
  for (const client of [pubClient, subClient]) {
    client.on("error", (err) => process.stderr.write(`reference-server: redis: ${err?.message ?? err}\n`));
  }
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(createAdapter(pubClient, subClient));
  log(`redis adapter on ${url}`);
}

try {
  if (opts.redisAdapter !== undefined) await useRedisAdapter(opts.redisAdapter);
  const port = await listen(publicHttp, opts.port, opts.host);
  const adminPort = await listen(adminHttp, opts.adminPort, opts.host);
  ready = true;
  process.stdout.write(JSON.stringify({
    event: "listening", host: opts.host, port, adminPort, namespaces: opts.namespaces,
    pingInterval: opts.pingInterval, pingTimeout: opts.pingTimeout, echo: opts.echo, pid: process.pid,
    redisAdapter: opts.redisAdapter ?? null,
  }) + "\n");
} catch (err) {
  process.stderr.write(`reference-server: cannot start: ${err?.message ?? err}\n`);
  process.exit(1);
}
