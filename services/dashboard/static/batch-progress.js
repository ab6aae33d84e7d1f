// Follows a batch in progress: asks its counts every 2 s (one small call, not the whole page), updates the
// bar and the numbers, and reloads the page once the batch completes, to show its orders and labels.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) {
    return;
  }
  var url = box.getAttribute("data-progress-url");
  var every = 2000;

  function show(col, value) {
    var cell = box.querySelector('[data-col="' + col + '"]');
    if (cell) {
      cell.textContent = String(value);
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) {
        return resp.ok ? resp.json() : null;
      })
      .then(function (batch) {
        if (!batch) {
          setTimeout(poll, every * 2); // refused or failed: ask again, less often
          return;
        }
        var bar = box.querySelector("progress");
        if (bar) {
          bar.max = batch.total;
          bar.value = batch.done + batch.failed + batch.skipped;
        }
        show("done", batch.done);
        show("failed", batch.failed);
        show("skipped", batch.skipped);
        show("total", batch.total);
        show("percent", batch.percent + "%");
        if (batch.status === "completed") {
          window.location.reload();
          return;
        }
        setTimeout(poll, every);
      })
      .catch(function () {
        setTimeout(poll, every * 2);
      });
  }

  setTimeout(poll, every);
})();
