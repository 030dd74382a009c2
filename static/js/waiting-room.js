/* A quiz's waiting room (templates/quizzes/waiting.html).

   The countdown starts from the SERVER's seconds-left, rendered into the page, and is measured with the page's
   monotonic clock (performance.now()), never the device's wall clock; it sends no request while it ticks. At
   zero, plus a random 0..EXAM_START_JITTER_SECONDS (so a district's phones do not all ask in the same
   millisecond), it starts the attempt through the API and opens it. The server decides: a start it refuses as
   too early (a device whose clock ran fast) answers opens_in_seconds, and the countdown goes on from that.
   Coming back to the page (an unlocked phone, the back button) asks the server once for its seconds again,
   since a sleeping device may have paused the page's clock. */
(function () {
  "use strict";
  var room = document.getElementById("waiting-room");
  if (!room || !window.fetch || !window.performance) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var status = document.getElementById("waiting-status");
  var parts = {};
  room.querySelectorAll("[data-part]").forEach(function (el) { parts[el.dataset.part] = el; });
  var jitterMs = (parseFloat(room.dataset.jitter) || 0) * 1000;
  var opensAt = 0;  // performance.now() at the opening, by the server's count
  var startAt = 0;  // when this page asks: the opening plus its jitter (or a retry's wait)
  var timer = null;
  var starting = false;
  var retries = 0;

  function sync(seconds) {
    opensAt = performance.now() + Math.max(0, seconds) * 1000;
    startAt = opensAt + Math.random() * jitterMs;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function show(left) {
    var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600);
    parts.days.hidden = !d;
    parts.days.firstElementChild.textContent = d;
    parts.hours.hidden = !d && !h;
    parts.hours.firstElementChild.textContent = pad(h);
    parts.minutes.firstElementChild.textContent = pad(Math.floor(left % 3600 / 60));
    parts.seconds.firstElementChild.textContent = pad(left % 60);
  }

  function say(text) { status.textContent = text; }

  function tick() {
    clearTimeout(timer);
    var now = performance.now();
    var ahead = opensAt - now;
    show(Math.max(0, Math.ceil(ahead / 1000)));
    if (now >= startAt) { start(); return; }
    // the next whole second of the countdown, or the start if that comes first
    var next = ahead > 0 ? (ahead % 1000 || 1000) + 5 : Infinity;
    timer = setTimeout(tick, Math.min(next, startAt - now + 1));
  }

  function retry() {  // the server is busy or out of reach: ask again after a growing, random wait
    retries += 1;
    say(room.dataset.busy);
    startAt = performance.now() + Math.min(30, Math.pow(2, retries)) * 1000 * (0.5 + Math.random());
    tick();
  }

  function start() {
    if (starting) { return; }
    starting = true;
    say(room.dataset.starting);
    fetch(room.dataset.start, {
      method: "POST", credentials: "same-origin",
      headers: {"X-CSRFToken": csrf, "Accept": "application/json"}
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (res.ok && body.id) { window.location.replace(room.dataset.take + body.id); return; }
        starting = false;
        if (res.status === 409 && typeof body.opens_in_seconds === "number") {
          say(room.dataset.early);  // too early by the server's clock: wait the seconds it says
          sync(body.opens_in_seconds);
          tick();
        } else if (res.status >= 500 || res.status === 429) {
          retry();
        } else {
          window.location.reload();  // closed, no attempts left, signed out: the page says why
        }
      });
    }, function () { starting = false; retry(); });
  }

  function resync() {
    if (starting) { return; }
    fetch(room.dataset.sync, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (body) {
        if (body && typeof body.opens_in_seconds === "number" && !starting) { sync(body.opens_in_seconds); tick(); }
      })
      .catch(function () {});
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { resync(); }
  });
  window.addEventListener("pageshow", function (event) { if (event.persisted) { resync(); } });

  sync(parseInt(room.dataset.seconds, 10));
  tick();
}());
