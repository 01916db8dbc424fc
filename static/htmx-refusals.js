// HTMX swaps only 2xx answers by default; this app answers refused forms with a fragment to show (422: field
// errors, 409: a conflict such as a stale revision). Let those be swapped too. Loaded by the pages that need it
// (the course builder, the reviews fragment); safe to load more than once.
(function () {
  "use strict";
  if (window.__tajiRefusals) return;
  window.__tajiRefusals = true;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
