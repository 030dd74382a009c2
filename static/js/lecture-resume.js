/* A lecture page remembers where the learner left off, on this device (localStorage, per user and lecture):
 * the video's position and the reading position; and it offers a playback-speed control limited to the rates
 * the server credits (data-min-rate … data-max-rate). Served locally; no inline script (the CSP forbids it). */
(function () {
  "use strict";
  var root = document.getElementById("lecture-resume");
  if (!root) return;
  var key = "ops-resume:" + root.dataset.user + ":" + root.dataset.lecture;
  var store = null;
  try { store = window.localStorage; } catch (e) { store = null; }
  function load() { try { return JSON.parse((store && store.getItem(key)) || "{}"); } catch (e) { return {}; } }
  function save(patch) {
    if (!store) return;
    var state = load();
    for (var name in patch) { state[name] = patch[name]; }
    try { store.setItem(key, JSON.stringify(state)); } catch (e) { /* storage full or blocked */ }
  }
  var state = load();
  var video = document.getElementById("lecture-video");
  var note = document.getElementById("resume-note");

  if (video) {
    var restore = function () {
      var at = Number(state.video || 0);
      if (at > 1 && video.duration && at < video.duration - 2) {
        video.currentTime = at;
        if (note) { note.textContent = note.dataset.video.replace("{time}", formatTime(at)); note.classList.remove("d-none"); }
      }
    };
    if (video.readyState >= 1) restore(); else video.addEventListener("loadedmetadata", restore, { once: true });
    var lastSaved = 0;
    video.addEventListener("timeupdate", function () {
      if (Math.abs(video.currentTime - lastSaved) >= 2) { lastSaved = video.currentTime; save({ video: video.currentTime }); }
    });
    video.addEventListener("pause", function () { save({ video: video.currentTime }); });
    video.addEventListener("ended", function () { save({ video: 0 }); });

    var speed = document.getElementById("playback-speed");
    if (speed) {
      speed.classList.remove("d-none");
      var select = speed.querySelector("select");
      var remembered = Number(state.rate || 1);
      if (select.querySelector('option[value="' + remembered + '"]')) { select.value = String(remembered); }
      var apply = function () { video.playbackRate = Number(select.value); video.defaultPlaybackRate = Number(select.value); };
      apply();
      select.addEventListener("change", function () { apply(); save({ rate: Number(select.value) }); });
      video.addEventListener("loadedmetadata", apply);
    }
  } else {
    var reading = function () {
      var height = document.documentElement.scrollHeight - window.innerHeight;
      return height > 0 ? window.scrollY / height : 0;
    };
    var at = Number(state.reading || 0);
    var restoring = at > 0.02;
    var restoreReading = function () {  // once the page has its full height
      if (note) { note.textContent = note.dataset.reading; note.classList.remove("d-none"); }
      var height = document.documentElement.scrollHeight - window.innerHeight;
      window.scrollTo({ top: Math.round(at * height), behavior: "instant" });  // not Bootstrap's smooth scrolling
      restoring = false;
    };
    if (restoring) {
      if (document.readyState === "complete") restoreReading(); else window.addEventListener("load", restoreReading);
    }
    var pending = null;
    window.addEventListener("scroll", function () {
      if (pending || restoring) return;
      pending = setTimeout(function () { pending = null; save({ reading: reading() }); }, 300);
    }, { passive: true });
    window.addEventListener("pagehide", function () { if (!restoring) save({ reading: reading() }); });
  }

  function formatTime(seconds) {
    var s = Math.floor(seconds), m = Math.floor(s / 60);
    return m + ":" + String(s % 60).padStart(2, "0");
  }
})();
