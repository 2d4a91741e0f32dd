// One round of connect/disconnect churn with stock socket.io-client 4.8 sockets, for the soak test
// (tests/Gateway.Tests/EndToEnd/SoakTests.cs): while the test publishes prompts, --sockets slots each run one socket
// after another for --ms. Every socket lives 300–2000 ms and answers every prompt it receives (an `answer` with an
// ack; every third one carries a binary attachment); then it ends in one of three ways: socket.disconnect() (a client
// close), its transport closed (socket.io.engine.close(): the Manager reconnects, and in Redis mode recovers, and the
// socket lives on for another lifetime), or, on WebSocket, its TCP connection destroyed without a close frame.
// Transports by slot: WebSocket only, polling only, polling then upgrade.
//
//   node soak.mjs --url http://127.0.0.1:P [--sockets 40] [--ms 12000] [--max-ms 60000]
//
// When the round is over every socket is disconnected and the script waits (up to 10 s) until each has seen its
// "disconnect"; then it prints one JSON line and exits 0:
//   {"ok":true,"connects":N,"recovered":N,"connectErrors":N,"disconnects":{"<reason>":n},"prompts":N,
//    "answersSent":N,"answersAcked":N,"acks":{"ok":n,"<error>":n},"answerTimeouts":N,"open":N,"errors":["…"]}
// "open" counts sockets still connected at the end (0 when everything closed). Exit 2 after --max-ms.

import { io } from "socket.io-client";

const opts = { sockets: 40, ms: 12000, maxMs: 60000 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const next = () => argv[++i];
  switch (argv[i]) {
    case "--url": opts.url = next(); break;
    case "--sockets": opts.sockets = Number(next()); break;
    case "--ms": opts.ms = Number(next()); break;
    case "--max-ms": opts.maxMs = Number(next()); break;
    default:
      process.stderr.write(`soak: unknown argument ${argv[i]}\n`);
      process.exit(64);
  }
}
if (!opts.url) {
  process.stderr.write("soak: --url is required\n");
  process.exit(64);
}

const TRANSPORTS = [["websocket"], ["polling"], ["polling", "websocket"]];
const tally = {
  ok: true, connects: 0, recovered: 0, connectErrors: 0, disconnects: {}, prompts: 0,
  answersSent: 0, answersAcked: 0, acks: {}, answerTimeouts: 0, open: 0, errors: [],
};
const live = new Set();
const all = [];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const lifetime = () => 300 + Math.floor(Math.random() * 1700);
let running = true;

function note(error) {
  if (tally.errors.length < 20) tally.errors.push(String(error));
}

function answer(socket, data) {
  const promptId = typeof data?.id === "string" ? data.id : null;
  if (!promptId) return;
  const payload = { promptId, choice: tally.answersSent % 4 };
  if (tally.answersSent % 3 === 0) payload.photo = Buffer.alloc(64 + (tally.answersSent % 512), 7);
  tally.answersSent++;
  socket.timeout(5000).emit("answer", payload, (err, reply) => {
    if (err) {
      tally.answerTimeouts++;
      return;
    }
    tally.answersAcked++;
    const key = reply?.ok === true ? "ok" : String(reply?.error ?? "malformed ack");
    tally.acks[key] = (tally.acks[key] ?? 0) + 1;
  });
}

// One slot: sockets one after the other until the round ends.
async function slot(index) {
  const transports = TRANSPORTS[index % TRANSPORTS.length];
  while (running) {
    const socket = io(opts.url, {
      forceNew: true, transports, reconnectionDelay: 100, reconnectionDelayMax: 500, timeout: 10000,
    });
    live.add(socket);
    all.push(socket);
    socket.on("connect", () => {
      tally.connects++;
      if (socket.recovered) tally.recovered++;
    });
    socket.on("connect_error", (err) => {
      tally.connectErrors++;
      note(`connect_error: ${err?.message ?? err}`);
    });
    socket.on("disconnect", (reason) => {
      tally.disconnects[reason] = (tally.disconnects[reason] ?? 0) + 1;
    });
    socket.on("prompt", (data) => {
      tally.prompts++;
      answer(socket, data);
    });

    await sleep(lifetime());
    const ending = Math.floor(Math.random() * 3);
    if (running && ending === 1) {
      // Transport close: the Manager reconnects (recovering in Redis mode); the socket lives one more lifetime.
      socket.io.engine?.close();
      await sleep(lifetime());
    } else if (running && ending === 2 && socket.io.engine?.transport?.name === "websocket") {
      // TCP gone without a close frame (a phone losing its network).
      socket.io.engine.transport.ws?._socket?.destroy();
      await sleep(lifetime());
    }
    socket.disconnect();
    live.delete(socket);
  }
}

setTimeout(() => {
  process.stdout.write(JSON.stringify({ ok: false, error: `soak: hard limit of ${opts.maxMs} ms reached` }) + "\n");
  process.exit(2);
}, opts.maxMs).unref();

const slots = [];
for (let i = 0; i < opts.sockets; i++) slots.push(slot(i));
await sleep(opts.ms);
running = false;
for (const socket of live) socket.disconnect();
await Promise.all(slots);
await sleep(300); // the last close packets and frames on their way
const deadline = Date.now() + 10000;
let open = [];
do {
  await sleep(20);
  open = all.filter((s) => s.connected || s.io.engine?.readyState === "open");
} while (open.length > 0 && Date.now() < deadline);
tally.open = open.length;
// Answers still waiting for their acks are counted as they are; the round's sockets are closed.
process.stdout.write(JSON.stringify(tally) + "\n");
process.exit(0);
