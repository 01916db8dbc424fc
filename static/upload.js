/* Resumable uploads for upload_field (templates/components/upload.html): the file goes in parts to /uploads
   (each part to where the server says: this app, or a presigned S3 URL), with a progress bar; after a lost
   connection it asks which parts arrived and sends only the others; Cancel abandons the upload. When the server
   has checked the file, its id goes into the hidden input and a `change` event fires there. No inline script. */
(function () {
  "use strict";
  if (window.tajiUploads) { return; }
  window.tajiUploads = true;
  var RETRIES = 5;

  function say(box, key, values) {
    var text = box.getAttribute("data-msg-" + key) || "";
    Object.keys(values || {}).forEach(function (k) { text = text.replace("{" + k + "}", values[k]); });
    box.querySelector("[data-upload-status]").textContent = text;
  }

  function csrf() {  // the page's token, as layouts/base.html gives it to HTMX
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  function api(box, method, path, body) {
    var headers = { "Accept": "application/json", "X-CSRFToken": csrf() };
    if (body) { headers["Content-Type"] = "application/json"; }
    return fetch(box.getAttribute("data-endpoint") + path, {
      method: method, headers: headers, credentials: "same-origin", body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      if (response.status === 204) { return null; }
      return response.json().then(function (data) {
        if (!response.ok) { var error = new Error(data.detail || data.title); error.status = response.status; throw error; }
        return data;
      });
    });
  }

  function putPart(box, state, target, blob, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      state.xhr = xhr;
      xhr.open("PUT", target.url);
      if (target.url.charAt(0) === "/") { xhr.setRequestHeader("X-CSRFToken", csrf()); }
      xhr.upload.onprogress = function (event) { onProgress(event.loaded); };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) { resolve(); return; }
        var error = new Error(box.getAttribute("data-msg-failed"));
        try { error = new Error(JSON.parse(xhr.responseText).detail || error.message); } catch (ignored) { /* S3: XML */ }
        error.status = xhr.status;
        reject(error);
      };
      xhr.onerror = function () { reject(new Error("network")); };
      xhr.onabort = function () { var e = new Error("aborted"); e.aborted = true; reject(e); };
      xhr.send(blob);
    });
  }

  function memoryKey(box, file) {
    return "taji-upload:" + box.getAttribute("data-purpose") + ":" + file.name + ":" + file.size + ":" + file.lastModified;
  }

  function run(box, state) {
    var file = state.file, bar = box.querySelector("[data-upload-bar]");
    box.querySelector("[data-upload-resume]").hidden = true;
    function show(doneBytes) {
      var percent = Math.min(100, Math.floor(doneBytes * 100 / file.size));
      bar.value = percent;
      say(box, "uploading", { percent: percent });
    }
    var start = state.id ? api(box, "GET", "/" + state.id) : Promise.resolve(null);
    return start.catch(function () { return null; }).then(function (known) {
      if (known && known.status === "uploading") { return known; }
      return api(box, "POST", "", { purpose: box.getAttribute("data-purpose"), filename: file.name, size: file.size });
    }).then(function (upload) {
      state.id = upload.id;
      try { localStorage.setItem(memoryKey(box, file), upload.id); } catch (ignored) { /* private mode */ }
      var done = upload.done_parts || [], sent = 0, chain = Promise.resolve();
      function partBytes(n) { return Math.min(upload.part_size, file.size - (n - 1) * upload.part_size); }
      done.forEach(function (n) { sent += partBytes(n); });
      show(sent);
      for (var n = 1; n <= upload.part_count; n += 1) {
        if (done.indexOf(n) >= 0) { continue; }
        chain = chain.then(sendPart.bind(null, n));
      }
      function sendPart(n) {
        if (state.cancelled) { throw Object.assign(new Error("cancelled"), { aborted: true }); }
        var blob = file.slice((n - 1) * upload.part_size, (n - 1) * upload.part_size + partBytes(n));
        return api(box, "GET", "/" + upload.id + "/parts/" + n).then(function (target) {
          return putPart(box, state, target, blob, function (loaded) { show(sent + loaded); });
        }).then(function () { sent += partBytes(n); state.failures = 0; show(sent); });
      }
      return chain.then(function () {
        say(box, "checking");
        return api(box, "POST", "/" + upload.id + "/complete");
      });
    }).then(function (ready) {
      try { localStorage.removeItem(memoryKey(box, file)); } catch (ignored) { /* private mode */ }
      bar.value = 100;
      box.querySelector("[data-upload-cancel]").hidden = true;
      var hidden = box.querySelector("[data-upload-value]");
      hidden.value = ready.id;
      hidden.dispatchEvent(new Event("change", { bubbles: true }));
      say(box, "done", { name: ready.filename });
      box.setAttribute("data-upload-state", "done");
    }).catch(function (error) {
      if (state.cancelled) { return; }
      if (error.status && error.status < 500) {  // refused (too large, wrong type...): say why, start over later
        try { localStorage.removeItem(memoryKey(box, file)); } catch (ignored) { /* private mode */ }
        box.querySelector("[data-upload-status]").textContent = error.message;
        box.setAttribute("data-upload-state", "failed");
        return;
      }
      state.failures = (state.failures || 0) + 1;  // lost connection or server away: ask what arrived, go on
      if (state.failures <= RETRIES) {
        var seconds = Math.min(30, Math.pow(2, state.failures));
        say(box, "retry", { seconds: seconds });
        state.timer = setTimeout(function () { run(box, state); }, seconds * 1000);
      } else {
        say(box, "paused");
        box.querySelector("[data-upload-resume]").hidden = false;
      }
    });
  }

  function init(box) {
    if (box.hasAttribute("data-upload-ready")) { return; }
    box.setAttribute("data-upload-ready", "");
    var input = box.querySelector("input[type=file]"), state = null;
    input.removeAttribute("name");  // the bytes go in parts, not with the form
    input.addEventListener("change", function () {
      if (!input.files || !input.files.length) { return; }
      var file = input.files[0], remembered = null;
      try { remembered = localStorage.getItem(memoryKey(box, file)); } catch (ignored) { /* private mode */ }
      state = { file: file, id: remembered, failures: 0 };
      box.querySelector("[data-upload-progress]").hidden = false;
      box.querySelector("[data-upload-cancel]").hidden = false;
      box.setAttribute("data-upload-state", "uploading");
      run(box, state);
    });
    box.querySelector("[data-upload-resume]").addEventListener("click", function () {
      if (state) { state.failures = 0; run(box, state); }
    });
    box.querySelector("[data-upload-cancel]").addEventListener("click", function () {
      if (!state) { return; }
      state.cancelled = true;
      clearTimeout(state.timer);
      if (state.xhr) { state.xhr.abort(); }
      if (state.id) { api(box, "DELETE", "/" + state.id).catch(function () { /* purged later anyway */ }); }
      try { localStorage.removeItem(memoryKey(box, state.file)); } catch (ignored) { /* private mode */ }
      input.value = "";
      box.querySelector("[data-upload-progress]").hidden = true;
      box.setAttribute("data-upload-state", "cancelled");
      say(box, "cancelled");
      state = null;
    });
  }

  function scan(root) {
    if (root && root.querySelectorAll) { root.querySelectorAll("[data-upload]").forEach(init); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(document); });
  } else {
    scan(document);
  }
  document.addEventListener("htmx:load", function (event) { scan(event.target); });
}());
