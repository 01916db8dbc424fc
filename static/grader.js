/* The grader (/teach/grading/<id>): keyboard shortcuts, the rubric's live total, the comment bank.
   j/n next learner, k/p previous, s the score, Ctrl/Cmd+Enter save as draft, r release the item's drafts.
   Only #submission-panel is swapped between learners (HTMX, the URL follows). No inline script (CSP). */
(function () {
  "use strict";
  var root = document.querySelector("[data-grader]");
  if (!root) { return; }

  function panel() { return document.getElementById("submission-panel"); }

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  function typing(target) {
    var tag = (target && target.tagName || "").toLowerCase();
    if (tag === "input" && (target.type === "radio" || target.type === "checkbox")) { return false; }  // rubric levels
    return tag === "input" || tag === "textarea" || tag === "select" || (target && target.isContentEditable);
  }

  function go(which) {
    var link = panel() && panel().querySelector('[data-nav="' + which + '"]');
    if (link) { link.click(); }
  }

  function rubricTotal() {
    var box = panel() && panel().querySelector("[data-rubric]");
    if (!box) { return; }
    var sum = 0, any = false;
    box.querySelectorAll("input[type=radio]:checked").forEach(function (input) {
      sum += parseFloat(input.getAttribute("data-points")) || 0; any = true;
    });
    var rubricMax = parseFloat(box.getAttribute("data-rubric-max")) || 0;
    var max = parseFloat(box.getAttribute("data-max")) || 0;
    var points = rubricMax > 0 && rubricMax !== max ? sum * max / rubricMax : sum;
    box.querySelector("[data-rubric-total]").textContent = any ? (Math.round(points * 100) / 100).toFixed(2) : "—";
  }

  document.addEventListener("change", function (event) {
    if (event.target.closest && event.target.closest("[data-rubric]")) { rubricTotal(); }
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    rubricTotal();
    var back = document.querySelector("[data-release] input[name=next]");  // come back to this learner
    if (back) { back.value = window.location.pathname; }
  });
  rubricTotal();

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-bank-insert]");
    if (!button) { return; }
    var box = panel() && panel().querySelector("[data-comment]");
    if (!box) { return; }
    var text = button.getAttribute("data-text");
    box.value = box.value ? box.value.replace(/\s*$/, "") + "\n" + text : text;
    box.focus();
    fetch(button.getAttribute("data-use-url"), { method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "Accept": "application/json" } }).catch(function () { /* counting only */ });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var save = panel() && panel().querySelector("[data-save]");
      // Leave the field first: HTMX would put the focus back in it after the swap, and j/k/s would not work.
      if (save) { event.preventDefault(); if (typing(document.activeElement)) { document.activeElement.blur(); } save.click(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (event.key === "j" || event.key === "n") { event.preventDefault(); go("next"); }
    else if (event.key === "k" || event.key === "p") { event.preventDefault(); go("prev"); }
    else if (event.key === "s") {
      var score = panel() && panel().querySelector("[data-score]");
      if (score) { event.preventDefault(); score.focus(); score.select(); }
    } else if (event.key === "r") {
      var form = document.querySelector("[data-release]");
      if (form && window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); form.querySelector("button").click(); }
    }
  });
}());
