// progress.js shows one batch's progress on the upload page while it runs: it polls the
// batch, shows the bar, the counts and the time left, offers Cancel, and tells upload.js
// (ML.batchFinished) when the batch is done.
"use strict";

(function () {
  const { $, api, apiJSON, showError } = window.ML;
  let pollTimer = null;
  let current = null; // the batch being watched

  function stopWatching() {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
    current = null;
  }

  // watch shows batch b in the progress card and follows it until it finishes.
  function watch(b) {
    stopWatching();
    current = b;
    $("report").hidden = true;
    $("report-status").textContent = "";
    $("progress-card").hidden = false;
    showProgress(b, null);
    if (b.finished_at) {
      finished(b);
      return;
    }
    const id = b.id;
    let first = null; // {t, processed}: the first poll that saw work done, for the rate
    const tick = async () => {
      if (!current || current.id !== id) return;
      try {
        const b = await apiJSON("GET", "/v1/batches/" + encodeURIComponent(id));
        if (!current || current.id !== id) return;
        current = b;
        const now = Date.now();
        if (first === null && b.processed > 0) first = { t: now, processed: b.processed };
        showProgress(b, first && { t: now, first });
        if (b.finished_at) {
          finished(b);
          return;
        }
      } catch (err) {
        showError(err);
      }
      pollTimer = setTimeout(tick, 1000);
    };
    pollTimer = setTimeout(tick, 1000);
  }

  function showProgress(b, rate) {
    const pct = b.total ? Math.floor((100 * b.processed) / b.total) : (b.finished_at ? 100 : 0);
    $("progress").value = pct;
    $("progress-pct").textContent = pct + " %";
    let t = b.processed + " of " + b.total + " rows processed: " + b.succeeded + " succeeded, " + b.failed + " failed";
    if (b.canceled) t += ", " + b.canceled + " canceled";
    $("progress-text").textContent = t + " (" + b.status + ").";
    const btn = $("cancel");
    btn.hidden = !!b.finished_at;
    btn.disabled = !!b.cancel_requested_at;
    btn.textContent = b.cancel_requested_at ? "Canceling…" : "Cancel batch";
    let eta = "";
    if (b.finished_at) {
      eta = "";
    } else if (b.cancel_requested_at) {
      eta = "Canceling: rows already started finish, the others are not run.";
    } else if (rate && b.processed > rate.first.processed) {
      const perMs = (b.processed - rate.first.processed) / (rate.t - rate.first.t);
      const left = Math.ceil((b.total - b.processed) / perMs / 1000);
      eta = "About " + (left < 60 ? left + " s" : Math.ceil(left / 60) + " min") + " left.";
    } else {
      eta = "Estimating time left…";
    }
    $("progress-eta").textContent = eta;
  }

  function finished(b) {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
    $("progress-eta").textContent = b.status === "canceled"
      ? "Canceled: " + b.canceled + (b.canceled === 1 ? " row was" : " rows were") + " not run; the report lists them."
      : b.failed ? "Finished: some rows failed; the report says why." : "Finished.";
    const btn = $("report");
    btn.hidden = false;
    btn.onclick = () => window.ML.downloadReport(b);
    btn.focus();
    if (window.ML.batchFinished) window.ML.batchFinished(b);
  }

  // cancel asks the API to cancel the batch being watched; the polling shows the outcome.
  async function cancel() {
    if (!current || current.finished_at) return;
    const btn = $("cancel");
    btn.disabled = true;
    try {
      const b = await (await api("POST", "/v1/batches/" + encodeURIComponent(current.id) + "/cancel")).json();
      if (current && current.id === b.id && !current.finished_at) {
        current = b;
        showProgress(b, null);
      }
    } catch (err) {
      btn.disabled = false;
      showError(err);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("cancel").addEventListener("click", cancel);
  });

  Object.assign(window.ML, { watch, stopWatching });
})();
