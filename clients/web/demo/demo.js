// The demo viewer page: one prompt at a time, with its choices; the answer goes back through the library.
// Query: ?channel=show-42 (repeat or comma-separate for several), ?gateway=https://host:3000 (default: this origin),
// ?token=<jwt>.
(function () {
  "use strict";
  var params = new URLSearchParams(location.search);
  var channels = params.getAll("channel").join(",").split(",").filter(Boolean);
  var gateway = params.get("gateway") || undefined;
  var $ = function (id) { return document.getElementById(id); };

  var viewer = GatewayViewer.connect(gateway, { channels: channels, token: params.get("token") || undefined });
  var demo = window.demo = { viewer: viewer, shown: [], statuses: [] };

  viewer.on("status", function (s) {
    demo.statuses.push(s);
    $("state").textContent = s.state;
    $("state").className = "pill " + s.state;
    $("transport").textContent = s.transport || "—";
    $("clock").textContent = s.offsetMs === null ? "clock —"
      : "clock " + (s.offsetMs >= 0 ? "+" : "") + s.offsetMs + " ms (rtt " + s.rttMs + " ms)";
  });

  viewer.on("prompt", function (data, info) {
    demo.shown.push({ data: data, info: info });
    var text = data && typeof data === "object" ? (data.q || data.question || data.text || JSON.stringify(data)) : String(data);
    var choices = data && typeof data === "object" ? (data.choices || data.options || []) : [];
    $("card").className = "card";
    $("question").textContent = text;
    $("result").textContent = "";
    $("result").className = "result";
    var list = $("choices");
    list.textContent = "";
    choices.forEach(function (choice, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = typeof choice === "object" && choice !== null ? (choice.label || JSON.stringify(choice)) : String(choice);
      button.disabled = info.id === null;
      button.addEventListener("click", function () {
        Array.prototype.forEach.call(list.children, function (b) { b.disabled = true; });
        button.classList.add("picked");
        viewer.answer(info.id, { choice: index }).then(function (ack) {
          $("result").textContent = ack && ack.ok ? "Answer saved" : "Not saved: " + (ack ? ack.error : "no answer");
          $("result").className = "result " + (ack && ack.ok ? "ok" : "error");
        });
      });
      list.appendChild(button);
    });
    $("timing").textContent = info.revealAt === null ? "shown on arrival"
      : (info.late ? "arrived late: " : "shown ") + (info.shownAt - info.revealAt) + " ms after the reveal (server clock)";
  });
})();
