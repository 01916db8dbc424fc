/* Taking a quiz (templates/assessments/quiz_take.html): each question's form autosaves on change (text after a
   pause), showing "Saved"; ordering questions move items with Up/Down buttons (focus stays on the button); the
   countdown runs from the seconds the server gave (so a reload or a wrong device clock changes nothing) and, at
   zero, submits the attempt (late policy "refuse") after the last saves; submitting asks for confirmation.
   The server enforces the deadline whatever this script does. No inline script (CSP script-src 'self'). */
(function () {
  "use strict";
  var pending = [];

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }

  function save(form) {
    var status = form.querySelector("[data-status]");
    if (status) { status.textContent = "…"; }
    var request = fetch(form.action, {
      method: "POST", credentials: "same-origin", body: new URLSearchParams(new FormData(form)),
      headers: {"X-CSRFToken": csrf(), "X-Quiz-Autosave": "1"}
    }).then(function (r) {
      return r.text().then(function (html) {
        if (status) { status.innerHTML = html; }
        if (r.status === 409) { window.location.reload(); }  // submitted (time is up): show the result
      });
    }).catch(function () { if (status) { status.textContent = "⚠"; } });
    pending.push(request);
    return request;
  }

  function setupForm(form) {
    var timer = null;
    form.addEventListener("change", function () { clearTimeout(timer); save(form); });
    form.addEventListener("input", function (event) {
      if (event.target.tagName === "TEXTAREA" || event.target.type === "text" || !event.target.type ||
          event.target.inputMode === "decimal") {
        clearTimeout(timer);
        timer = setTimeout(function () { save(form); }, 1200);
      }
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); clearTimeout(timer); save(form); });
    form.querySelectorAll("[data-move]").forEach(function (button) {
      button.addEventListener("click", function () {
        var item = button.closest("li"), list = item.parentNode;
        if (button.dataset.move === "-1" && item.previousElementSibling) {
          list.insertBefore(item, item.previousElementSibling);
        } else if (button.dataset.move === "1" && item.nextElementSibling) {
          list.insertBefore(item.nextElementSibling, item);
        } else { return; }
        button.focus();
        save(form);
      });
    });
  }

  function submitAll(form) {
    Promise.all(pending).then(function () { form.submit(); }, function () { form.submit(); });
  }

  function setupCountdown(quiz, submitForm) {
    var clock = document.getElementById("quiz-countdown");
    if (!clock) { return; }
    var end = Date.now() + (parseInt(clock.dataset.secondsLeft, 10) || 0) * 1000, done = false;
    function tick() {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      clock.textContent = m + ":" + (s < 10 ? "0" : "") + s;
      if (left === 0 && !done) {
        done = true;
        var notice = document.getElementById("quiz-time-up");
        if (notice) { notice.hidden = false; }
        if (quiz.dataset.latePolicy === "refuse" && submitForm) { submitAll(submitForm); }
      }
    }
    tick();
    setInterval(tick, 1000);
  }

  function init() {
    var quiz = document.querySelector("[data-quiz]");
    if (!quiz) { return; }
    quiz.querySelectorAll("form[data-autosave]").forEach(setupForm);
    var submitForm = document.getElementById("quiz-submit");
    if (submitForm) {
      submitForm.addEventListener("submit", function (event) {
        event.preventDefault();
        if (window.confirm(submitForm.dataset.confirm)) { submitAll(submitForm); }
      });
    }
    setupCountdown(quiz, submitForm);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
