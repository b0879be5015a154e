// progress.js shows one batch's progress on the upload page while it runs: it follows the
// batch's event stream (GET /v1/batches/{id} asked for text/event-stream, the same stream as
// /events, whose URL some browsers' filter lists block; read with fetch because EventSource
// cannot send the token), or polls the batch when the stream is not there; it shows the bar,
// the counts and the time left, offers Cancel, and tells upload.js (ML.batchFinished) when
// the batch is done.
"use strict";

(function () {
  const { $, api, apiJSON, showError } = window.ML;
  let pollTimer = null;
  let current = null; // the batch being watched

  let stream = null; // the AbortController of the event stream being read

  function stopWatching() {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
    if (stream) stream.abort();
    stream = null;
    current = null;
  }

  // watch shows batch b in the progress card and follows it until it finishes.
  function watch(b) {
    stopWatching();
    current = b;
    $("report").hidden = true;
    $("resend").hidden = true;
    $("report-status").textContent = "";
    $("progress-card").hidden = false;
    showProgress(b);
    if (b.finished_at) {
      finished(b);
      return;
    }
    follow(b.id);
  }

  // update shows a new state of batch id; it is false once the page follows another batch.
  function update(id, b) {
    if (!current || current.id !== id) return false;
    current = b;
    showProgress(b);
    if (window.ML.batchChanged) window.ML.batchChanged(b);
    if (b.finished_at) finished(b);
    return true;
  }

  // follow reads the batch's event stream and falls back to polling when the stream fails or
  // ends before the batch does.
  async function follow(id) {
    const ctl = new AbortController();
    stream = ctl;
    $("progress-card").dataset.source = "events";
    try {
      const resp = await api("GET", "/v1/batches/" + encodeURIComponent(id), undefined, { accept: "text/event-stream", signal: ctl.signal });
      if (!(resp.headers.get("Content-Type") || "").startsWith("text/event-stream")) throw new Error("no event stream");
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf = (buf + value).replace(/\r\n?/g, "\n");
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let name = "message", data = "";
          for (const line of frame.split("\n")) {
            if (line.startsWith("event:")) name = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trimStart();
          }
          if (name !== "batch" || !data) continue;
          if (!update(id, JSON.parse(data)) || current.finished_at) {
            ctl.abort();
            return;
          }
        }
      }
    } catch (err) {
      if (ctl.signal.aborted) return;
    }
    if (stream === ctl) stream = null;
    if (current && current.id === id && !current.finished_at) poll(id);
  }

  function poll(id) {
    $("progress-card").dataset.source = "polling";
    const tick = async () => {
      if (!current || current.id !== id) return;
      try {
        const b = await apiJSON("GET", "/v1/batches/" + encodeURIComponent(id));
        if (!update(id, b) || b.finished_at) return;
      } catch (err) {
        showError(err);
      }
      pollTimer = setTimeout(tick, 1000);
    };
    pollTimer = setTimeout(tick, 1000);
  }

  function showProgress(b) {
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
    } else if (b.seconds_left != null) {
      // The API's estimate: the batch's pace, and the send rate when one is set.
      const left = b.seconds_left;
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
    const resend = $("resend");
    resend.textContent = window.ML.resendOf(b).label;
    resend.hidden = false;
    resend.onclick = () => window.ML.resendBatch(b, $("report-status"));
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
        showProgress(b);
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
