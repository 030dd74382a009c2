/* The study tracker of a lecture page (开放式网络党校).
 *
 * Starts a study session, then sends a heartbeat every interval: whether the page stayed visible, seconds
 * since the learner's last input, and for video the position, the position where this run of playback
 * began, and the rate. The server decides what that earns, by its own clock, and answers why time is not
 * counting (paused, hidden, idle, capped, another tab took over): the page shows it in plain words, with the
 * minutes credited on this lecture and its cap, and 已完成 once the lecture is complete. A little before the
 * presence timeout without input (and no video playing) the page asks "还在学习吗？"; at the timeout it says
 * time has stopped. Served locally; no libraries.
 */
(function () {
  "use strict";
  var root = document.getElementById("study-tracker");
  if (!root || !window.fetch) return;

  var kind = root.dataset.kind;
  var intervalMs = Number(root.dataset.interval || 30) * 1000;
  var timeoutMs = Number(root.dataset.presenceTimeout || 120) * 1000;
  var minRate = Number(root.dataset.minRate || 0.75);
  var maxRate = Number(root.dataset.maxRate || 2);
  var texts = document.getElementById("study-tracker-texts").dataset;
  var statusEl = document.getElementById("study-tracker-status");
  var minutesEl = document.getElementById("study-tracker-minutes");
  var capEl = document.getElementById("study-tracker-cap");
  var doneEl = document.getElementById("study-tracker-done");
  var awayEl = document.getElementById("study-tracker-away");
  var awayTextEl = document.getElementById("study-tracker-away-text");
  var supersededEl = document.getElementById("study-tracker-superseded");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";

  var credential = null, heartbeatUrl = null, seq = 0, timer = null, stopped = false, away = false;
  var completed = false;
  var lastInput = Date.now();
  var hiddenSinceLastBeat = document.visibilityState !== "visible";
  var video = kind === "video" ? document.querySelector("video") : null;
  var segmentStart = video ? video.currentTime : null;
  var lastPosition = segmentStart;
  var playedSinceBeat = false;  // the video played at some point of this interval (it may have ended since)

  function show(el, on) { el.classList.toggle("d-none", !on); }
  function setStatus(text) { if (text) statusEl.textContent = text; }

  function playing() { return !!video && !video.paused && !video.ended; }

  // "还在学习吗？" a little before the presence timeout (a quarter of it, at most 30 s), "stopped" at it
  function warnMs() { return Math.min(30000, timeoutMs / 4); }
  function checkPresence() {
    if (stopped || playing() || !credential) return;
    var idle = Date.now() - lastInput;
    if (idle >= timeoutMs - warnMs()) {
      var stoppedNow = idle >= timeoutMs;
      awayTextEl.textContent = stoppedNow ? texts.away : texts.idleSoon;
      if (stoppedNow) setStatus(texts.away);
      if (!away) { away = true; show(awayEl, true); }
    }
  }
  function markInput() {
    lastInput = Date.now();
    if (away) { away = false; show(awayEl, false); setStatus(completed ? texts.completed : texts.recording); }
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
    if (data.lecture_cap_seconds) capEl.textContent = String(Math.floor(data.lecture_cap_seconds / 60));
    completed = completed || !!data.completed;
    show(doneEl, completed);
  }

  // why time is (not) counting, in the words of the page; completed lectures say 已完成 rather than "capped"
  var REASONS = { hidden: "hidden", away: "away", paused: "paused", rate: "rate", no_progress: "paused",
                  capped: "capped", day_capped: "dayCapped" };
  function showStatus(status) {
    if (status === "credited") setStatus(completed ? texts.completed : texts.recording);
    else if (status === "capped" && completed) setStatus(texts.completed);
    else if (REASONS[status]) setStatus(texts[REASONS[status]]);
  }

  function beat(keepalive, positionBeforeSeek) {
    if (!credential || stopped) return;
    var idle = (Date.now() - lastInput) / 1000;
    var watching = playing() || playedSinceBeat;
    playedSinceBeat = playing();
    if (!watching) checkPresence();
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
          if (data.status === "expired") { credential = null; return start(); }
          if (data.status === "superseded") {
            stopped = true; clearTimeout(timer); show(supersededEl, true); setStatus(texts.superseded); return;
          }
          showCredit(data);
          showStatus(data.status);
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
  setInterval(checkPresence, 5000);
  start();
})();
