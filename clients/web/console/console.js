// The operator console: polls this gateway's admin API once a second (GET /v1/stats, /v1/prompts, /v1/answers),
// publishes through POST /v1/publish, drains through POST /v1/drain and /v1/undrain. The admin token the operator
// types in is kept in this tab's sessionStorage and sent as "Authorization: Bearer" on every call.
(function () {
  "use strict";
  var TOKEN_KEY = "gatewayAdminToken";
  var POLL_MS = 1000;
  var HISTORY = 120; // seconds of viewer counts in the chart
  var $ = function (id) { return document.getElementById(id); };
  var history = [];
  var timer = null;

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  function api(method, path, body) {
    var headers = { "content-type": "application/json" };
    if (token()) headers.authorization = "Bearer " + token();
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" })
      .then(function (response) {
        return response.text().then(function (text) {
          var json = null;
          try { json = text ? JSON.parse(text) : null; } catch (e) { /* not JSON */ }
          if (response.status === 401) {
            showLogin("The admin token was refused.");
            throw new Error("unauthorized");
          }
          return { status: response.status, ok: response.ok, json: json, text: text };
        });
      });
  }

  function showLogin(message) {
    clearTimeout(timer);
    timer = null;
    $("app").hidden = true;
    $("login").hidden = false;
    $("loginError").textContent = message || "";
    $("token").focus();
  }

  function showApp() {
    $("login").hidden = true;
    $("app").hidden = false;
    if (timer === null) poll();
  }

  function text(value) { return value === null || value === undefined ? "—" : String(value); }

  function clock(ms) {
    if (ms === null || ms === undefined) return "—";
    var d = new Date(ms);
    return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
  }

  function renderStats(stats) {
    $("viewers").textContent = text(stats.connections);
    $("transports").textContent = "websocket " + text(stats.transports && stats.transports.websocket) + " · polling " + text(stats.transports && stats.transports.polling);
    var ns = stats.namespaces || {};
    $("namespaces").textContent = Object.keys(ns).map(function (k) { return k + " " + ns[k]; }).join(" · ");
    if (stats.regions) {
      // Region figures, where the gateway reports them.
      $("namespaces").textContent += " · regions: " + Object.keys(stats.regions).map(function (r) { return r + " " + JSON.stringify(stats.regions[r]); }).join(", ");
    }
    history.push(stats.connections || 0);
    if (history.length > HISTORY) history.shift();
    drawChart();

    var redis = stats.redis || {};
    var trouble = [
      ["slow consumers", stats.slowConsumers],
      ["connections refused", stats.connectionsRefused],
      ["answers refused", redis.answersRefused !== undefined ? redis.answersRefused : stats.answersRefused],
      ["heartbeat timeouts", stats.heartbeatTimeouts],
      ["protocol errors", stats.protocolErrors],
      ["unknown events", stats.unknownEvents],
    ];
    if (stats.redis) trouble.push(["redis", redis.ready ? "ready" : "not ready: " + text(redis.reason)]);
    var dl = $("trouble");
    dl.textContent = "";
    trouble.forEach(function (row) {
      var dt = document.createElement("dt");
      dt.textContent = row[0];
      var dd = document.createElement("dd");
      dd.textContent = text(row[1]);
      if (typeof row[1] === "number" && row[1] > 0) dd.className = "bad";
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
  }

  function drawChart() {
    var svg = $("viewersChart");
    var max = Math.max.apply(null, history.concat([1]));
    var points = history.map(function (v, i) {
      var x = history.length === 1 ? 300 : (i / (HISTORY - 1)) * 300;
      return x.toFixed(1) + "," + (78 - (v / max) * 74).toFixed(1);
    }).join(" ");
    svg.innerHTML = '<polyline points="' + points + '"></polyline>';
  }

  function answerBars(tally) {
    var box = document.createElement("div");
    box.className = "bars";
    if (!tally) {
      box.textContent = "0";
      return box;
    }
    var total = document.createElement("div");
    total.textContent = tally.total + " answers";
    total.className = "answers-total";
    box.appendChild(total);
    var choices = Object.keys(tally.choices).sort();
    choices.forEach(function (choice) {
      var count = tally.choices[choice];
      var bar = document.createElement("div");
      bar.className = "bar";
      bar.innerHTML = "<span></span><i></i><span></span>";
      bar.children[0].textContent = choice;
      bar.children[1].style.width = Math.max(2, Math.round((count / tally.total) * 120)) + "px";
      bar.children[2].textContent = count;
      box.appendChild(bar);
    });
    return box;
  }

  function renderPrompts(prompts, answers) {
    var tallies = {};
    (answers || []).forEach(function (a) { tallies[a.id] = a; });
    var body = $("prompts").tBodies[0];
    body.textContent = "";
    prompts.forEach(function (p) {
      var row = body.insertRow();
      row.dataset.id = p.id;
      var cells = [p.id, p.channel || "(all)", p.event, clock(p.publishedAt), clock(p.revealAt), p.recipients,
        p.lastWriteMs === null || p.lastWriteMs === undefined ? (p.complete ? "—" : "…") : p.lastWriteMs + " ms", p.slowConsumers];
      cells.forEach(function (value, i) {
        var cell = row.insertCell();
        cell.textContent = text(value);
        if (i >= 5) cell.className = "num";
      });
      row.cells[5].classList.add("recipients");
      row.insertCell().appendChild(answerBars(tallies[p.id]));
    });
  }

  function poll() {
    Promise.all([api("GET", "/v1/stats"), api("GET", "/v1/prompts?limit=20"), api("GET", "/v1/answers")])
      .then(function (r) {
        var stats = r[0], prompts = r[1], answers = r[2];
        if (!stats.ok) throw new Error("stats: HTTP " + stats.status);
        renderStats(stats.json);
        if (prompts.ok && prompts.json) {
          renderPrompts(prompts.json.prompts, answers.ok && answers.json ? answers.json.prompts : []);
        } else {
          $("prompts").tBodies[0].innerHTML = "<tr><td colspan=9>GET /v1/prompts: HTTP " + prompts.status + "</td></tr>";
        }
        $("live").textContent = "live";
        $("live").className = "pill ok";
        $("instance").textContent = location.host + " · updated " + new Date().toLocaleTimeString([], { hour12: false });
      })
      .catch(function (e) {
        if (e.message === "unauthorized") return;
        $("live").textContent = "error: " + e.message;
        $("live").className = "pill error";
      })
      .then(function () {
        if (!$("app").hidden) timer = setTimeout(poll, POLL_MS);
      });
  }

  $("login").addEventListener("submit", function (event) {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value);
    showApp();
  });

  $("logout").addEventListener("click", function () {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin("");
  });

  $("publish").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var result = $("publishResult");
    var body = { namespace: form.namespace.value || "/", event: form.event.value || "prompt" };
    if (form.channel.value) body.channel = form.channel.value;
    if (form.id.value) body.id = form.id.value;
    try {
      body.data = JSON.parse(form.data.value || "[]");
    } catch (e) {
      result.textContent = "Data is not JSON: " + e.message;
      result.className = "error";
      return;
    }
    if (form.revealIn.value !== "") body.revealIn = Math.round(Number(form.revealIn.value) * 1000);
    api("POST", "/v1/publish", body).then(function (r) {
      result.className = r.ok ? "dim" : "error";
      result.textContent = r.ok ? "Published " + r.json.id + (r.json.streamId ? " (stream " + r.json.streamId + ")" : "")
        : "Refused (HTTP " + r.status + "): " + (r.json && r.json.error ? r.json.error : r.text);
    }, function (e) {
      result.className = "error";
      result.textContent = "Publish failed: " + e.message;
    });
  });

  function drainButton(id, path) {
    $(id).addEventListener("click", function () {
      var result = $("drainResult");
      api("POST", path).then(function (r) {
        result.className = r.ok ? "dim" : "error";
        result.textContent = r.ok ? path + ": " + (r.text || "ok")
          : path + " failed (HTTP " + r.status + ")" + (r.status === 404 ? ": this gateway has no drain endpoint" : ": " + r.text);
      }, function (e) {
        result.className = "error";
        result.textContent = path + " failed: " + e.message;
      });
    });
  }
  drainButton("drain", "/v1/drain");
  drainButton("undrain", "/v1/undrain");

  // Open at once when there is no token to ask for (none configured, or one from earlier in this tab).
  var remembered = token() !== "";
  api("GET", "/v1/stats").then(function (r) { if (r.ok) showApp(); else showLogin(""); }, function () {
    if (!remembered) $("loginError").textContent = ""; // a token is needed and none was typed yet: no error to show
  });
})();
