/* Taking a quiz: autosave each answer to the API, count down from the SERVER's remaining time
   (measured with the page's monotonic clock, never the device's wall clock), submit at zero. */
(function () {
  "use strict";
  var form = document.getElementById("quiz-form");
  if (!form) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var base = form.dataset.api;
  var state = document.getElementById("quiz-save-state");
  var answered = document.getElementById("quiz-answered");
  var pending = {};
  var timers = {};
  var submitting = false;

  function responseOf(fieldset) {
    var kind = fieldset.dataset.kind;
    if (kind === "blank") { return fieldset.querySelector("input").value; }
    var checked = Array.prototype.map.call(fieldset.querySelectorAll("input:checked"), function (i) { return i.value; });
    return checked;
  }

  function countAnswered() {
    var n = 0;
    form.querySelectorAll(".quiz-question").forEach(function (fs) {
      var r = responseOf(fs);
      if ((typeof r === "string" && r.trim()) || (Array.isArray(r) && r.length)) { n += 1; }
    });
    answered.textContent = n;
  }

  function show(text) { state.textContent = text; }

  function save(position, keepalive) {
    var fieldset = form.querySelector('.quiz-question[data-position="' + position + '"]');
    pending[position] = true;
    show(form.dataset.saving);
    return fetch(base + position, {
      method: "PUT", credentials: "same-origin", keepalive: !!keepalive,
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
      body: JSON.stringify({response: responseOf(fieldset)})
    }).then(function (res) {
      if (res.ok) {
        delete pending[position];
        if (!Object.keys(pending).length) { show(form.dataset.saved); }
        return res.json().then(function (body) { if (body.remaining_seconds != null) { setRemaining(body.remaining_seconds); } });
      }
      if (res.status === 409) { delete pending[position]; show(form.dataset.late); submitNow(); return; }
      show(form.dataset.failed);
    }).catch(function () { show(form.dataset.failed); });
  }

  function retryPending() { Object.keys(pending).forEach(save); }
  window.addEventListener("online", retryPending);
  setInterval(function () { if (Object.keys(pending).length && navigator.onLine !== false) { retryPending(); } }, 5000);

  form.addEventListener("change", function (event) {
    var fs = event.target.closest(".quiz-question");
    if (!fs) { return; }
    countAnswered();
    clearTimeout(timers[fs.dataset.position]);
    save(fs.dataset.position);
  });
  form.addEventListener("input", function (event) {
    var fs = event.target.closest(".quiz-question");
    if (!fs || fs.dataset.kind !== "blank") { return; }
    countAnswered();
    pending[fs.dataset.position] = true;
    show(form.dataset.saving);
    clearTimeout(timers[fs.dataset.position]);
    timers[fs.dataset.position] = setTimeout(function () { save(fs.dataset.position); }, 800);
  });

  // Leaving or reloading the page: send what is still waiting for its debounce.
  window.addEventListener("pagehide", function () {
    if (submitting) { return; }
    Object.keys(pending).forEach(function (position) { clearTimeout(timers[position]); save(position, true); });
  });

  function submitNow() {
    if (submitting) { return; }
    submitting = true;
    form.submit();
  }
  // 交卷 asks first, naming the questions left unanswered (the timer's own submit above does not ask).
  form.addEventListener("submit", function (event) {
    var missing = [];
    form.querySelectorAll(".quiz-question").forEach(function (fs) {
      var r = responseOf(fs);
      if (!((typeof r === "string" && r.trim()) || (Array.isArray(r) && r.length))) { missing.push(fs.dataset.position); }
    });
    var question = missing.length
      ? form.dataset.confirmMissing.replace("{n}", missing.length).replace("{list}", missing.join("、"))
      : form.dataset.confirmAll;
    if (!window.confirm(question)) {
      event.preventDefault();
      if (missing.length) {
        var first = form.querySelector('.quiz-question[data-position="' + missing[0] + '"]');
        if (first) { first.scrollIntoView({block: "center"}); }
      }
      return;
    }
    submitting = true;
  });

  var timer = document.getElementById("quiz-timer");
  var endsAt = null;
  function setRemaining(seconds) { endsAt = performance.now() + seconds * 1000; }
  function tick() {
    var left = Math.max(0, Math.round((endsAt - performance.now()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    timer.textContent = (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
    timer.classList.toggle("text-danger", left <= 60);
    if (left <= 0) { show(form.dataset.late); submitNow(); return; }
    setTimeout(tick, 500);
  }
  if (timer) { setRemaining(parseInt(timer.dataset.remaining, 10)); tick(); }
  countAnswered();
})();
