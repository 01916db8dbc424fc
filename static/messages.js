// A conversation's new messages, live: server-sent events from /messages/stream ("message" events, JSON, id = seq).
// The browser resumes with Last-Event-ID when it reconnects. Text goes in with textContent: nothing is parsed as HTML.
(function () {
  "use strict";
  function item(list, m) {
    if (document.getElementById("message-" + m.seq)) { return; }
    var li = document.createElement("li");
    li.className = "message" + (m.mine ? " mine" : "");
    li.id = "message-" + m.seq;
    li.setAttribute("data-seq", String(m.seq));
    var meta = document.createElement("p");
    meta.className = "message-meta";
    var who = document.createElement("strong");
    who.textContent = m.sender;
    var when = document.createElement("time");
    when.setAttribute("datetime", m.at);
    when.textContent = m.at_label || m.at.slice(0, 16).replace("T", " ");
    meta.appendChild(who);
    meta.appendChild(document.createTextNode(" · "));
    meta.appendChild(when);
    li.appendChild(meta);
    var body = document.createElement("p");
    body.className = "message-body";
    body.textContent = m.hidden ? list.getAttribute("data-label-hidden") : m.body;
    if (m.body || m.hidden) { li.appendChild(body); }
    if (m.attachment) {
      var p = document.createElement("p");
      p.className = "message-file";
      var a = document.createElement("a");
      a.href = m.attachment.url;
      a.textContent = list.getAttribute("data-label-attachment") + ": " + m.attachment.name;
      p.appendChild(a);
      li.appendChild(p);
    }
    list.appendChild(li);
  }
  function start() {
    var list = document.getElementById("messages");
    if (!list || !window.EventSource) { return; }
    var conversation = list.getAttribute("data-conversation");
    var source = new EventSource(list.getAttribute("data-stream"));
    source.addEventListener("message", function (event) {
      var m = JSON.parse(event.data);
      if (m.conversation_id !== conversation) { return; }
      item(list, m);
      if (!m.mine && window.htmx) {
        window.htmx.ajax("POST", "/messages/" + conversation + "/read", { target: "#messages-count", swap: "outerHTML" });
      }
    });
    source.addEventListener("signed_out", function () { source.close(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
