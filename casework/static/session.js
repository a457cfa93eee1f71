/* Warns before a session ends for lack of activity, and offers to keep it.
   Progressive enhancement: every page works without this script (CSP: script-src 'self'). */
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  if (!idle || !window.fetch) { return; }
  var warnBefore = Math.min(120, Math.floor(idle / 5));
  var started = Date.now();
  var box = null;

  function say(message, offerToStay) {
    if (!box) {
      box = document.createElement("div");
      box.className = "session-warning";
      box.setAttribute("role", "alert");
      body.insertBefore(box, body.firstChild);
    }
    box.textContent = message + " ";
    if (offerToStay) {
      var stay = document.createElement("button");
      stay.type = "button";
      stay.className = "button";
      stay.textContent = body.getAttribute("data-text-stay");
      stay.addEventListener("click", keepAlive);
      box.appendChild(stay);
    }
  }

  function keepAlive() {
    fetch(body.getAttribute("data-keepalive-url"), {credentials: "same-origin", redirect: "manual"})
      .then(function (answer) {
        if (answer.status === 204) {
          started = Date.now();
          if (box) { box.remove(); box = null; }
        } else {
          say(body.getAttribute("data-text-ended"), false);
        }
      });
  }

  function tick() {
    var left = idle - (Date.now() - started) / 1000;
    if (left <= 0) {
      say(body.getAttribute("data-text-ended"), false);
    } else if (left <= warnBefore) {
      say(body.getAttribute("data-text-warning").replace("%s", String(Math.ceil(left / 60))), true);
    }
  }

  window.setInterval(tick, 10000);
})();
