/* The study tracker of a lecture page (开放式网络党校).
 *
 * Starts a study session, then sends a heartbeat every interval: whether the page stayed visible, seconds
 * since the learner's last input, and for video the position, the position where this run of playback
 * began, and the rate. The server decides what that earns, by its own clock. After the presence timeout
 * without input (and no video playing) the page asks "still studying?"; when another tab or device takes
 * over, the page says so and stops. Served locally; no libraries.
 */
(function () {
  "use strict";
  var root = document.getElementById("study-tracker");
  if (!root || !window.fetch) return;

  var kind = root.dataset.kind;
  var intervalMs = Number(root.dataset.interval || 30) * 1000;
  var timeoutMs = Number(root.dataset.presenceTimeout || 180) * 1000;
  var minRate = Number(root.dataset.minRate || 0.75);
  var maxRate = Number(root.dataset.maxRate || 2);
  var texts = document.getElementById("study-tracker-texts").dataset;
  var statusEl = document.getElementById("study-tracker-status");
  var minutesEl = document.getElementById("study-tracker-minutes");
  var awayEl = document.getElementById("study-tracker-away");
  var supersededEl = document.getElementById("study-tracker-superseded");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";

  var credential = null, heartbeatUrl = null, seq = 0, timer = null, stopped = false, away = false;
  var lastInput = Date.now();
  var hiddenSinceLastBeat = document.visibilityState !== "visible";
  var video = kind === "video" ? document.querySelector("video") : null;
  var segmentStart = video ? video.currentTime : null;
  var lastPosition = segmentStart;
  var playedSinceBeat = false;  // the video played at some point of this interval (it may have ended since)

  function show(el, on) { el.classList.toggle("d-none", !on); }
  function setStatus(text) { if (text) statusEl.textContent = text; }

  function playing() { return !!video && !video.paused && !video.ended; }

  function markInput() {
    lastInput = Date.now();
    if (away) { away = false; show(awayEl, false); setStatus(texts.recording); }
  }
  ["pointerdown", "pointermove", "keydown", "wheel", "touchstart", "scroll"].forEach(function (name) {
    window.addEventListener(name, markInput, { passive: true, capture: true });
  });

  function post(url, body, keepalive) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", keepalive: !!keepalive,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body)
    });
  }

  function start() {
    stopped = false;
    show(supersededEl, false);
    return post(root.dataset.startUrl, { position: video ? video.currentTime : 0 })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        credential = data.session; heartbeatUrl = data.heartbeat_url; seq = 0;
        intervalMs = data.interval_seconds * 1000; timeoutMs = data.presence_timeout_seconds * 1000;
        minRate = data.min_playback_rate; maxRate = data.max_playback_rate;
        hiddenSinceLastBeat = document.visibilityState !== "visible";
        segmentStart = lastPosition = video ? video.currentTime : null;
        showCredit(data);
        schedule();
      })
      .catch(function () { setStatus(texts.error); timer = setTimeout(start, intervalMs); });
  }

  function schedule() { clearTimeout(timer); if (!stopped) timer = setTimeout(beat, intervalMs); }

  function showCredit(data) {
    minutesEl.textContent = String(Math.floor((data.lecture_seconds || 0) / 60));
    if (data.completed) setStatus(texts.completed);
  }

  function beat(keepalive, positionBeforeSeek) {
    if (!credential || stopped) return;
    var idle = (Date.now() - lastInput) / 1000;
    var watching = playing() || playedSinceBeat;
    playedSinceBeat = playing();
    if (!watching && idle * 1000 >= timeoutMs && !away) { away = true; show(awayEl, true); }
    seq += 1;
    var body = {
      session: credential, seq: seq,
      visible: document.visibilityState === "visible" && !hiddenSinceLastBeat,
      idle_seconds: watching ? 0 : Math.round(idle),
      playing: watching, client_time: new Date().toISOString()
    };
    if (video) {
      var seekClose = typeof positionBeforeSeek === "number";
      body.position = seekClose ? positionBeforeSeek : video.currentTime;
      body.segment_start = segmentStart; body.rate = video.playbackRate;
      if (seekClose) body.playing = !video.paused || body.position > segmentStart;
      segmentStart = video.currentTime;
    }
    hiddenSinceLastBeat = document.visibilityState !== "visible";
    schedule();
    return post(heartbeatUrl, body, keepalive)
      .then(function (r) {
        if (r.status === 401) { credential = null; return start(); }
        return r.json().then(function (data) {
          if (data.status === "superseded") {
            stopped = true; clearTimeout(timer); show(supersededEl, true); return;
          }
          showCredit(data);
          if (data.status === "hidden") setStatus(texts.hidden);
          else if (data.status === "capped") setStatus(texts.capped);
          else if (data.status === "day_capped") setStatus(texts.day_capped || texts.dayCapped);
          else if (data.status === "credited" && !data.completed) setStatus(texts.recording);
        });
      })
      .catch(function () { setStatus(texts.error); });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      beat();  // reports the hidden stretch (earns nothing) and restarts the clock from now
    } else {
      hiddenSinceLastBeat = false;
      beat(true);  // credits the visible part of this interval, then marks the rest hidden
      hiddenSinceLastBeat = true;
    }
  });

  if (video) {
    video.addEventListener("timeupdate", function () {
      if (!video.seeking) lastPosition = video.currentTime;
      if (!video.paused && !video.seeking) playedSinceBeat = true;
    });
    video.addEventListener("seeking", function () {
      // close the run of playback that led here (reported up to where it was); the jump earns nothing
      if (credential && !stopped && lastPosition !== null) beat(false, lastPosition);
    });
    video.addEventListener("seeked", function () { segmentStart = video.currentTime; lastPosition = video.currentTime; });
    video.addEventListener("ratechange", function () {
      if (video.playbackRate < minRate) video.playbackRate = minRate;
      if (video.playbackRate > maxRate) video.playbackRate = maxRate;
    });
    video.addEventListener("play", markInput);
  }

  document.getElementById("study-tracker-resume").addEventListener("click", function () { markInput(); beat(); });
  document.getElementById("study-tracker-takeover").addEventListener("click", function () { start(); });
  setInterval(function () {
    if (!stopped && !away && !playing() && Date.now() - lastInput >= timeoutMs) { away = true; show(awayEl, true); }
  }, 5000);
  start();
})();
