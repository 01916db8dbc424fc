/* The sign-up form's robot check: find a nonce such that SHA-256(challenge + ":" + nonce) starts with the
   number of zero bits the server asks for (the form's data-pow-bits). The server checks it with one hash.
   Work is done in batches between which the page stays responsive; submitting waits for the answer. */
(function () {
  "use strict";
  var form = document.getElementById("signup-form");
  if (!form) { return; }
  var bits = parseInt(form.getAttribute("data-pow-bits"), 10) || 0;
  var challenge = form.elements.pow_challenge.value;
  var nonceField = form.elements.pow_nonce;
  var submit = document.getElementById("signup-submit");
  var status = document.getElementById("pow-status");
  var progress = document.getElementById("pow-progress");
  var BATCH = 4096; // digests in flight at once: larger batches hash faster (measured), each still takes a few ms

  function say(key) { status.textContent = status.getAttribute(key); }

  function finished(nonce) {
    nonceField.value = nonce;
    progress.value = 100;
    progress.hidden = true;
    submit.disabled = false;
    say("data-done");
  }

  form.addEventListener("submit", function (event) {
    if (!nonceField.value) { event.preventDefault(); }
  });

  if (nonceField.value) { finished(nonceField.value); return; }
  if (!window.crypto || !window.crypto.subtle || !window.TextEncoder || !window.Promise) {
    say("data-unsupported");
    return;
  }

  var encoder = new TextEncoder();
  var prefix = challenge + ":";
  var expected = Math.pow(2, bits);
  var next = 0;

  function zeroBits(buffer) {
    var bytes = new Uint8Array(buffer);
    var count = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) { count += 8; continue; }
      return count + Math.clz32(bytes[i]) - 24;
    }
    return count;
  }

  function batch() {
    var start = next;
    var digests = [];
    for (var i = 0; i < BATCH; i++) {
      digests.push(window.crypto.subtle.digest("SHA-256", encoder.encode(prefix + (start + i))));
    }
    next += BATCH;
    return Promise.all(digests).then(function (results) {
      for (var j = 0; j < results.length; j++) {
        if (zeroBits(results[j]) >= bits) { return String(start + j); }
      }
      return null;
    });
  }

  function step() {
    batch().then(function (found) {
      if (found !== null) { finished(found); return; }
      // The chance of having found it by now is 1 - e^(-tries / 2^bits): a progress that never stalls at 100 %.
      progress.value = Math.min(99, Math.round(100 * (1 - Math.exp(-next / expected))));
      window.setTimeout(step, 0);
    }, function () { say("data-unsupported"); });
  }

  say("data-working");
  progress.hidden = false;
  step();
})();
