/*!
 * gateway-viewer.js — shows the gateway's prompts on every screen at the same instant.
 *
 * A plain browser script (no build step) on top of the stock socket.io-client 4.8: load socket.io.min.js first, then
 * this file; it defines window.GatewayViewer. As an ES module: gateway-viewer.mjs (it runs this file and exports
 * GatewayViewer). socket.io-client's io is the `io` option of connect, else the global io that socket.io.min.js defines.
 *
 *   const viewer = GatewayViewer.connect(url, { channels: ["show-42"], token, socketOptions, io });
 *   viewer.on("prompt", (data, info) => { ... });  // at the reveal instant; info: { id, revealAt, shownAt, offsetMs, late }
 *   viewer.on("status", (s) => { ... });           // { state, connected, recovered, transport, offsetMs, rttMs }
 *   viewer.answer(promptId, answer)                 // Promise of the gateway's ack: {ok:true} or {ok:false,error}
 *   viewer.close()
 *
 * Clock: the server's clock is estimated NTP-style over the gateway's `time` event (ack {now}): a round of samples, the
 * one with the lowest round trip wins (its error is at most half that round trip), repeated periodically and after
 * every (re)connect. The estimate is kept against the page's monotonic clock (performance.now), so a device clock that
 * is minutes off, or that is stepped during the show, changes nothing.
 *
 * Wire (the README's client contract): a prompt sent ahead carries, after its data and before socket.io's recovery
 * offset (a string, always the last argument when recovery is on), one object {"id": "...", "revealAt": <ms>}; the
 * library fires "prompt" at revealAt on the server's clock. A prompt without revealAt fires on arrival.
 */
(function (root) {
  "use strict";

  var SAMPLES_PER_ROUND = 6;
  var RESYNC_INTERVAL_MS = 30000;
  var SAMPLE_TIMEOUT_MS = 5000;
  var ANSWER_TIMEOUT_MS = 10000;
  // setTimeout fires late by a few ms (more under load); the last stretch before a reveal is waited out on the message
  // loop instead, which has no 4 ms clamp and no timer coalescing.
  var SPIN_WINDOW_MS = 12;
  var REMEMBERED_IDS = 256;

  var monotonic = (typeof performance !== "undefined" && typeof performance.now === "function")
    ? function () { return performance.now(); }
    : function () { return Date.now(); };

  function isTag(value) {
    if (value === null || typeof value !== "object" || Array.isArray(value) || typeof value.id !== "string") {
      return false;
    }
    var keys = Object.keys(value);
    for (var i = 0; i < keys.length; i++) {
      if (keys[i] !== "id" && keys[i] !== "revealAt") {
        return false;
      }
    }
    return value.revealAt === undefined || typeof value.revealAt === "number";
  }

  /** Waits until the monotonic clock reaches `target`, then calls `fn`; returns a cancel function. */
  function at(target, fn) {
    var cancelled = false;
    var timer = null;
    var channel = typeof MessageChannel !== "undefined" ? new MessageChannel() : null;
    function check() {
      if (cancelled) {
        return;
      }
      var remaining = target - monotonic();
      if (remaining <= 0) {
        if (channel) {
          channel.port1.close();
        }
        fn();
      } else if (remaining > SPIN_WINDOW_MS || !channel) {
        timer = setTimeout(check, channel ? remaining - SPIN_WINDOW_MS + 2 : remaining);
      } else {
        channel.port2.postMessage(0);
      }
    }
    if (channel) {
      channel.port1.onmessage = check;
    }
    check();
    return function () {
      cancelled = true;
      if (timer !== null) {
        clearTimeout(timer);
      }
      if (channel) {
        channel.port1.close();
      }
    };
  }

  function Viewer(url, options) {
    options = options || {};
    var io = options.io || root.io;
    if (typeof io !== "function") {
      throw new Error("GatewayViewer needs socket.io-client: pass its io as the io option, or load socket.io.min.js before gateway-viewer.js");
    }
    this._handlers = { prompt: [], status: [] };
    this._event = options.event || "prompt";
    this._monoOffset = null; // server ms = monotonic() + _monoOffset
    this._rttMs = null;
    this._pending = [];      // prompts waiting for their reveal: { tag, data, args, cancel }
    this._seen = [];         // ids shown or waiting (a re-delivered prompt fires once)
    this._syncing = false;
    this._closed = false;
    this._state = "connecting";

    var socketOptions = Object.assign({}, options.socketOptions || {});
    var auth = Object.assign({}, socketOptions.auth || {});
    if (options.channels) {
      auth.channels = options.channels;
    }
    if (options.token) {
      auth.token = options.token;
    }
    socketOptions.auth = auth;
    var socket = this.socket = url === undefined || url === null ? io(socketOptions) : io(url, socketOptions);

    var self = this;
    this._recoveryOn = false;
    // Recovery is on when the CONNECT reply carries a pid; socket.io-client keeps it in a private (minified) field,
    // so the reply is read where the manager hands every decoded packet out.
    socket.io.on("packet", function (packet) {
      if (packet.type === 0 && packet.nsp === socket.nsp) {
        self._recoveryOn = !!(packet.data && packet.data.pid);
      }
    });
    socket.on("connect", function () {
      self._state = socket.recovered ? "recovered" : "connected";
      self._watchTransport();
      self._emitStatus();
      self._syncRound();
    });
    socket.on("disconnect", function (reason) {
      self._state = self._closed || reason === "io client disconnect" ? "closed" : "reconnecting";
      self._emitStatus();
    });
    socket.on("connect_error", function () {
      if (!self._closed && !socket.connected) {
        self._state = "reconnecting";
        self._emitStatus();
      }
    });
    socket.on(this._event, function () {
      self._onPrompt(Array.prototype.slice.call(arguments));
    });
    this._resync = setInterval(function () {
      if (socket.connected) {
        self._syncRound();
      }
    }, options.resyncIntervalMs || RESYNC_INTERVAL_MS);
  }

  Viewer.prototype.on = function (event, handler) {
    (this._handlers[event] || (this._handlers[event] = [])).push(handler);
    return this;
  };

  Viewer.prototype.off = function (event, handler) {
    var list = this._handlers[event];
    if (list) {
      var i = list.indexOf(handler);
      if (i >= 0) {
        list.splice(i, 1);
      }
    }
    return this;
  };

  /** The server's clock now (ms since the Unix epoch), or null before the first sample. */
  Viewer.prototype.serverNow = function () {
    return this._monoOffset === null ? null : monotonic() + this._monoOffset;
  };

  /** How far the server's clock is ahead of this device's (ms), or null before the first sample. */
  Object.defineProperty(Viewer.prototype, "offsetMs", {
    get: function () {
      return this._monoOffset === null ? null : Math.round(monotonic() + this._monoOffset - Date.now());
    },
  });

  /**
   * Sends an answer to prompt `promptId`: an object is sent with `promptId` added ({choice: 2} →
   * {choice: 2, promptId}); any other value as {promptId, answer}. Resolves with the gateway's ack, or
   * {ok:false, error:"timeout"} when none comes within 10 s.
   */
  Viewer.prototype.answer = function (promptId, answer) {
    var body = answer !== null && typeof answer === "object" && !Array.isArray(answer)
      ? Object.assign({}, answer, { promptId: promptId })
      : { promptId: promptId, answer: answer };
    var socket = this.socket;
    return new Promise(function (resolve) {
      socket.timeout(ANSWER_TIMEOUT_MS).emit("answer", body, function (err, ack) {
        resolve(err ? { ok: false, error: "timeout" } : ack);
      });
    });
  };

  /** Joins more channels (the gateway's `subscribe`); resolves with its ack. */
  Viewer.prototype.subscribe = function (channels) {
    var socket = this.socket;
    return new Promise(function (resolve) {
      socket.timeout(ANSWER_TIMEOUT_MS).emit("subscribe", channels, function (err, ack) {
        resolve(err ? { ok: false, error: "timeout" } : ack);
      });
    });
  };

  Viewer.prototype.close = function () {
    if (this._closed) {
      return;
    }
    this._closed = true;
    clearInterval(this._resync);
    for (var i = 0; i < this._pending.length; i++) {
      if (this._pending[i].cancel) {
        this._pending[i].cancel();
      }
    }
    this._pending = [];
    this.socket.disconnect();
    this._state = "closed";
    this._emitStatus();
  };

  // ---- Clock ----------------------------------------------------------------------------------------------------

  Viewer.prototype._syncRound = function () {
    if (this._syncing || this._closed) {
      return;
    }
    this._syncing = true;
    var self = this;
    var best = null;
    var taken = 0;
    function sample() {
      if (self._closed || !self.socket.connected || taken >= SAMPLES_PER_ROUND) {
        self._syncing = false;
        if (best !== null) {
          self._setClock(best);
        }
        return;
      }
      taken++;
      var sent = monotonic();
      self.socket.timeout(SAMPLE_TIMEOUT_MS).emit("time", function (err, reply) {
        var received = monotonic();
        if (!err && reply && typeof reply.now === "number") {
          var rtt = received - sent;
          // The server read its clock somewhere in the round trip: assume the middle (error <= rtt / 2). Its
          // clock has ms resolution: + 0.5 is the middle of that ms.
          var candidate = { offset: reply.now + 0.5 - (sent + rtt / 2), rtt: rtt };
          if (best === null || candidate.rtt < best.rtt) {
            best = candidate;
          }
          if (self._monoOffset === null) {
            self._setClock(best); // prompts waiting for a first estimate need not wait for the whole round
          }
        }
        sample();
      });
    }
    sample();
  };

  Viewer.prototype._setClock = function (sample) {
    // A later round replaces the estimate even with a longer round trip: the clocks drift, an old sample ages.
    this._monoOffset = sample.offset;
    this._rttMs = sample.rtt;
    this._schedulePending();
    this._emitStatus();
  };

  // ---- Prompts --------------------------------------------------------------------------------------------------

  Viewer.prototype._onPrompt = function (args) {
    // [...data, tag?, offset?]: the recovery offset is a string and last when the connection offers recovery.
    var end = args.length;
    if (end > 0 && typeof args[end - 1] === "string" && this._recoveryOn) {
      end--; // socket.io-client keeps the offset itself (it reads the last string argument, as here); it is no data
    }
    var tag = null;
    if (end > 0 && isTag(args[end - 1])) {
      tag = args[end - 1];
      end--;
    }
    var data = args.slice(0, end);
    var first = data.length > 0 ? data[0] : undefined;
    var id = tag ? tag.id : (first && typeof first === "object" ? (first.promptId || first.id || null) : null);
    if (id !== null) {
      if (this._seen.indexOf(id) >= 0) {
        return; // re-delivered (a late join after a reconnect): shown once
      }
      this._seen.push(id);
      if (this._seen.length > REMEMBERED_IDS) {
        this._seen.shift();
      }
    }
    var prompt = { id: id, revealAt: tag && typeof tag.revealAt === "number" ? tag.revealAt : null, data: first, args: data, cancel: null };
    if (prompt.revealAt === null) {
      this._fire(prompt, false);
      return;
    }
    this._pending.push(prompt);
    this._schedulePending();
  };

  Viewer.prototype._schedulePending = function () {
    if (this._monoOffset === null) {
      return; // no clock yet: scheduled by the first sample
    }
    var self = this;
    this._pending.slice().forEach(function (prompt) {
      if (prompt.cancel) {
        prompt.cancel();
      }
      var target = prompt.revealAt - self._monoOffset; // the reveal on the monotonic clock
      if (target <= monotonic()) {
        prompt.cancel = null;
        self._removePending(prompt);
        self._fire(prompt, true);
      } else {
        prompt.cancel = at(target, function () {
          self._removePending(prompt);
          self._fire(prompt, false);
        });
      }
    });
  };

  Viewer.prototype._removePending = function (prompt) {
    var i = this._pending.indexOf(prompt);
    if (i >= 0) {
      this._pending.splice(i, 1);
    }
  };

  Viewer.prototype._fire = function (prompt, late) {
    var shownAt = this.serverNow();
    var info = {
      id: prompt.id,
      revealAt: prompt.revealAt,
      shownAt: shownAt === null ? Date.now() : Math.round(shownAt),
      offsetMs: this.offsetMs,
      late: late,
      args: prompt.args,
    };
    this._emit("prompt", prompt.data, info);
  };

  // ---- Status ---------------------------------------------------------------------------------------------------

  Viewer.prototype._watchTransport = function () {
    var engine = this.socket.io && this.socket.io.engine;
    if (engine && !engine.__gatewayViewerWatched) {
      engine.__gatewayViewerWatched = true;
      var self = this;
      engine.on("upgrade", function () {
        self._emitStatus();
      });
    }
  };

  Viewer.prototype.status = function () {
    var engine = this.socket.io && this.socket.io.engine;
    return {
      state: this._state,
      connected: this.socket.connected,
      recovered: !!this.socket.recovered,
      transport: engine && engine.transport ? engine.transport.name : null,
      offsetMs: this.offsetMs,
      rttMs: this._rttMs === null ? null : Math.round(this._rttMs * 10) / 10,
    };
  };

  Viewer.prototype._emitStatus = function () {
    this._emit("status", this.status());
  };

  Viewer.prototype._emit = function (event) {
    var list = this._handlers[event];
    if (!list) {
      return;
    }
    var args = Array.prototype.slice.call(arguments, 1);
    list.slice().forEach(function (handler) {
      try {
        handler.apply(null, args);
      } catch (e) {
        setTimeout(function () { throw e; }); // a handler's error is the page's, not the viewer's
      }
    });
  };

  root.GatewayViewer = {
    version: "1.0.0",
    /** Connects to the gateway at `url` (as io(url)); see the header for the options. */
    connect: function (url, options) {
      return new Viewer(url, options);
    },
  };
})(typeof self !== "undefined" ? self : this);
