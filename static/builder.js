// The course builder (/teach/courses/<id>): drag and drop reordering, and focus kept on the button used after an
// in-place update (static/htmx-refusals.js lets HTMX show 422/409 fragments). Keyboard users have Move up/down.
(function () {
  "use strict";

  // After the outline is replaced, put focus back where the person was (the same button, or the new item).
  document.addEventListener("htmx:afterSettle", function (event) {
    var outline = document.getElementById("outline");
    if (!outline || !outline.contains(event.detail.elt) && event.detail.elt !== outline) return;
    var id = outline.getAttribute("data-focus");
    var target = id && document.getElementById(id);
    if (target) target.focus();
  });

  var dragged = null;

  function listOf(item) {
    return item && item.parentElement;
  }

  function sendOrder(list) {
    var ids = [];
    for (var i = 0; i < list.children.length; i++) {
      var id = list.children[i].getAttribute("data-id");
      if (id) ids.push(id);
    }
    window.htmx.ajax("POST", list.getAttribute("data-order-url"), {
      source: list, target: "#outline", swap: "outerHTML", values: { ids: ids }
    });
  }

  document.addEventListener("dragstart", function (event) {
    var item = event.target.closest && event.target.closest("li[draggable=true]");
    if (!item) return;
    dragged = item;
    item.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.getAttribute("data-id"));
    event.stopPropagation();
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
  });

  function dropTarget(event) {
    if (!dragged) return null;
    var kind = dragged.classList.contains("lesson") ? "lesson" : "module";
    var over = event.target.closest && event.target.closest("li." + kind);
    if (over && over !== dragged) return { item: over, list: over.parentElement };
    // A lesson dropped on a module's (possibly empty) lesson list.
    var list = kind === "lesson" && event.target.closest && event.target.closest("ol.lessons");
    return list ? { item: null, list: list } : null;
  }

  document.addEventListener("dragover", function (event) {
    if (dropTarget(event)) event.preventDefault();
  });

  document.addEventListener("drop", function (event) {
    var where = dropTarget(event);
    if (!where) return;
    event.preventDefault();
    var from = listOf(dragged);
    if (where.item) {
      var box = where.item.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      where.list.insertBefore(dragged, after ? where.item.nextSibling : where.item);
    } else {
      where.list.appendChild(dragged);
    }
    sendOrder(where.list);
    if (from !== where.list && from && from.children.length === 0) { /* the source module's list is now empty */ }
  });

  // Lesson drafts save themselves: 1.5 s after typing stops (sooner when a field changes, e.g. an upload finished),
  // the editor's fields go to its data-autosave URL and only the status line is replaced, so the caret and the
  // focus stay where they are. A form that was replaced or closed in the meantime is left alone.
  var pending = new WeakMap();

  function autosave(form) {
    pending.delete(form);
    var status = form.querySelector("[data-autosave-status]");
    if (!form.isConnected || !status) return;
    window.htmx.ajax("POST", form.getAttribute("data-autosave"), {
      source: status, target: status, swap: "outerHTML", values: window.htmx.values(form)
    });
  }

  function schedule(event, wait) {
    var form = event.target.closest && event.target.closest("form[data-autosave]");
    if (!form) return;
    clearTimeout(pending.get(form));
    pending.set(form, setTimeout(function () { autosave(form); }, wait));
  }

  document.addEventListener("input", function (event) { schedule(event, 1500); });
  document.addEventListener("change", function (event) { schedule(event, 300); });
  document.addEventListener("submit", function (event) {  // a full save makes the pending autosave pointless
    if (event.target.matches && event.target.matches("form[data-autosave]")) clearTimeout(pending.get(event.target));
  }, true);
})();
