/* The lesson page (templates/learn/_lesson.html): heartbeats while visible, video resume/position/auto-complete,
   document pages (swipe, previous/next, the last page completes), the outline open on wide screens.
   No inline script (CSP script-src 'self'); re-run after each HTMX swap of #lesson-view. */
(function () {
  "use strict";
  var timer = null, view = null;

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }

  function send(url, body, keepalive) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", keepalive: !!keepalive,
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf(), "Accept": "application/json"},
      body: JSON.stringify(body || {})
    }).then(function (r) { return r.ok ? r.json() : null; }).catch(function () { return null; });
  }

  function refresh(el) {  // a completion happened: show it (outline, progress, button) with one swap
    if (window.htmx && el.isConnected) {
      window.htmx.ajax("GET", window.location.pathname, {target: "#lesson-view", swap: "outerHTML"});
    }
  }

  function beat() {
    if (view && view.dataset.record === "1" && document.visibilityState === "visible") {
      send(view.dataset.beatUrl, {});
    }
  }

  function schedule() {
    if (timer) { clearInterval(timer); timer = null; }
    if (view && view.dataset.record === "1" && document.visibilityState === "visible") {
      timer = setInterval(beat, (parseInt(view.dataset.beatSeconds, 10) || 30) * 1000);
    }
  }

  function position(el, body, keepalive) {
    if (el.dataset.record !== "1") { return Promise.resolve(null); }
    return send(el.dataset.positionUrl, body, keepalive).then(function (answer) {
      if (answer && answer.lesson_completed && el.dataset.completed !== "1") { el.dataset.completed = "1"; refresh(el); }
      return answer;
    });
  }

  function setupVideo(el) {
    var video = el.querySelector("video.lesson-video");
    if (!video) { return; }
    var resume = parseInt(video.dataset.resume, 10) || 0, saved = -1;
    video.addEventListener("loadedmetadata", function () {
      if (resume > 0 && (!video.duration || resume < video.duration - 2)) { video.currentTime = resume; }
    });
    function save(ended, keepalive) {
      var at = Math.floor(video.currentTime || 0);
      if (!ended && at === saved) { return; }
      saved = at;
      position(el, {seconds: at, ended: !!ended}, keepalive);
    }
    video.addEventListener("timeupdate", function () { if (Math.abs(video.currentTime - saved) >= 15) { save(false); } });
    video.addEventListener("pause", function () { if (!video.ended) { save(false); } });
    video.addEventListener("ended", function () { save(true); });
    el.addEventListener("lesson:leave", function () { if (!video.paused) { save(false, true); } });
  }

  function setupDocument(el) {
    var doc = el.querySelector(".doc");
    if (!doc) { return; }
    var strip = doc.querySelector(".doc-pages"), pages = doc.querySelectorAll(".doc-page");
    var current = doc.querySelector("[data-doc-current]"), shown = 0;
    function go(n) {
      var page = pages[Math.max(0, Math.min(pages.length - 1, n - 1))];
      if (page) { strip.scrollTo({left: page.offsetLeft - strip.offsetLeft, behavior: "smooth"}); }
    }
    function seen(n) {
      if (n === shown) { return; }
      shown = n;
      if (current) { current.textContent = String(n); }
      position(el, {page: n});
    }
    if ("IntersectionObserver" in window) {
      var io = new IntersectionObserver(function (entries) {
        entries.forEach(function (e) { if (e.isIntersecting) { seen(parseInt(e.target.dataset.page, 10)); } });
      }, {root: strip, threshold: 0.6});
      pages.forEach(function (p) { io.observe(p); });
    }
    doc.addEventListener("click", function (e) {
      var b = e.target.closest("[data-doc]");
      if (b) { go((shown || 1) + (b.dataset.doc === "next" ? 1 : -1)); }
    });
    strip.addEventListener("keydown", function (e) {
      if (e.key === "ArrowRight") { go((shown || 1) + 1); e.preventDefault(); }
      if (e.key === "ArrowLeft") { go((shown || 1) - 1); e.preventDefault(); }
    });
    var start = parseInt(doc.dataset.start, 10) || 1;
    if (start > 1) { requestAnimationFrame(function () { go(start); }); }
  }

  function init() {
    var el = document.getElementById("lesson-view");
    if (!el || el === view) { return; }
    if (view) { view.dispatchEvent(new Event("lesson:leave")); }
    view = el;
    var outline = el.querySelector("[data-outline]");
    if (outline && window.matchMedia("(min-width: 48rem)").matches) { outline.open = true; }
    setupVideo(el);
    setupDocument(el);
    schedule();
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && view) { view.dispatchEvent(new Event("lesson:leave")); }
    schedule();
  });
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", init);
  if (document.readyState !== "loading") { init(); }
})();
