// The bell's unread count, live: server-sent events from /notifications/stream ("unread" events). While the stream
// is open, the HTMX polling of /notifications/count (every 30 s, the fallback) is stopped by replacing its element.
(function () {
  "use strict";
  function start() {
    var bell = document.getElementById("bell");
    if (!bell || !window.EventSource) { return; }
    var source = new EventSource(bell.getAttribute("data-stream"));
    source.addEventListener("unread", function (event) {
      var count = parseInt(event.data, 10) || 0;
      var old = document.getElementById("bell-count");
      var span = document.createElement("span");
      span.id = "bell-count";
      span.className = "bell-count";
      span.setAttribute("data-count", String(count));
      span.textContent = count ? String(count) : "";
      var label = document.createElement("span");
      label.className = "visually-hidden";
      label.textContent = bell.getAttribute("data-label-" + (count === 1 ? "one" : "other")).replace("__N__", String(count));
      span.appendChild(label);
      if (old) { old.replaceWith(span); } else { bell.appendChild(span); }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
