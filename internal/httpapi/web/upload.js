// upload.js drives the Multiple Accounts page: it calls the v1 API with the admin token
// kept in sessionStorage and shows the API's own error messages.
"use strict";

(function () {
  const TOKEN_KEY = "multiline.adminToken";
  const $ = (id) => document.getElementById(id);
  let pollTimer = null;
  let busy = false;

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  // ApiError carries the API's error body: code, message and details.
  class ApiError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || ("the server answered " + status));
      this.status = status;
      this.code = e.code || "";
      this.details = Array.isArray(e.details) ? e.details : [];
    }
  }

  async function api(method, path, body) {
    const opts = { method, headers: { Authorization: "Bearer " + token() } };
    if (body instanceof FormData) {
      opts.body = body;
    } else if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, opts);
    } catch (err) {
      throw new ApiError(0, { error: { message: "the server cannot be reached: " + err.message } });
    }
    if (!resp.ok) {
      let b = null;
      try { b = await resp.json(); } catch (_) { /* not JSON */ }
      throw new ApiError(resp.status, b);
    }
    return resp;
  }

  async function apiJSON(method, path, body) {
    return (await api(method, path, body)).json();
  }

  function detailText(d) {
    if (d === null || d === undefined) return "";
    if (typeof d === "string") return d;
    if (d.message) return (d.row ? "row " + d.row + (d.column ? ", " + d.column : "") + ": " : "") + d.message;
    return JSON.stringify(d);
  }

  function showError(err) {
    const box = $("error");
    box.replaceChildren();
    const p = document.createElement("p");
    p.textContent = err.message;
    p.style.margin = "0";
    box.append(p);
    if (err.details && err.details.length) {
      const ul = document.createElement("ul");
      for (const d of err.details) {
        const li = document.createElement("li");
        li.textContent = detailText(d);
        ul.append(li);
      }
      box.append(ul);
    }
    if (err.code) {
      const c = document.createElement("p");
      c.className = "code";
      c.textContent = "(" + err.code + (err.status ? ", HTTP " + err.status : "") + ")";
      box.append(c);
    }
    box.hidden = false;
    box.focus();
  }

  function clearError() { $("error").hidden = true; $("error").replaceChildren(); }

  function saveBlob(blob, filename) {
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = filename;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function filenameOf(resp, fallback) {
    const m = /filename="?([^";]+)"?/.exec(resp.headers.get("Content-Disposition") || "");
    return m ? m[1] : fallback;
  }

  function option(value, text) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  }

  // Sign in and out.

  async function signIn() {
    clearError();
    try {
      const data = await apiJSON("GET", "/v1/organizations");
      const orgs = data.organizations || [];
      const sel = $("org");
      sel.replaceChildren(...orgs.map((o) => { const op = option(o.id, o.name); op.dataset.numbers = JSON.stringify(o.numbers || {}); return op; }));
      $("signin").hidden = true;
      $("upload").hidden = false;
      $("history").hidden = false;
      $("signout").hidden = false;
      if (!orgs.length) {
        showError({ message: "this admin token has no organization in its scope" });
        return;
      }
      await orgChanged();
      sel.focus();
    } catch (err) {
      if (err.status === 401) sessionStorage.removeItem(TOKEN_KEY);
      showError(err);
    }
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    stopPolling();
    for (const id of ["upload", "history", "check-result", "progress-card", "signout"]) $(id).hidden = true;
    $("signin").hidden = false;
    $("token").value = "";
    clearError();
    $("token").focus();
  }

  // Organization, permission group, batches.

  function org() { return $("org").value; }

  async function orgChanged() {
    clearError();
    const sel = $("org").selectedOptions[0];
    const n = sel ? JSON.parse(sel.dataset.numbers || "{}") : {};
    $("org-numbers").textContent = sel ? "Numbers: " + (n.available || 0) + " available, " + (n.reserved || 0) + " reserved, " + (n.assigned || 0) + " assigned" : "";
    try {
      const data = await apiJSON("GET", "/v1/organizations/" + encodeURIComponent(org()) + "/permission-groups");
      const groups = data.permission_groups || [];
      $("group").replaceChildren(...groups.map((g) => option(g.id, g.name)));
      if (!groups.length) showError({ message: "this organization has no permission group yet; create one first" });
    } catch (err) {
      showError(err);
    }
    await loadBatches();
  }

  async function loadBatches() {
    try {
      const data = await apiJSON("GET", "/v1/organizations/" + encodeURIComponent(org()) + "/batches");
      const rows = (data.batches || []).map(batchRow);
      $("batches").tBodies[0].replaceChildren(...rows);
      $("batches").hidden = rows.length === 0;
      $("batches-empty").hidden = rows.length !== 0;
    } catch (err) {
      showError(err);
    }
  }

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function batchRow(b) {
    const tr = document.createElement("tr");
    const when = new Date(b.created_at).toLocaleString();
    tr.append(cell(when), cell(b.filename || b.id), cell(b.status + (b.invite ? " · invite" : "")),
      cell(b.succeeded + " ok, " + b.failed + " failed" + (b.canceled ? ", " + b.canceled + " canceled" : "") + " of " + b.total, "num"));
    const td = document.createElement("td");
    if (b.finished_at) {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "secondary";
      btn.textContent = "Report";
      btn.setAttribute("aria-label", "Download the report of " + (b.filename || b.id) + ", " + when);
      btn.addEventListener("click", () => downloadReport(b));
      td.append(btn);
    } else {
      td.textContent = "not ready";
    }
    tr.append(td);
    return tr;
  }

  // downloadTemplate saves the organization's template; ext is "csv" or "xlsx".
  async function downloadTemplate(ext) {
    clearError();
    try {
      const resp = await api("GET", "/v1/organizations/" + encodeURIComponent(org()) + "/accounts/template." + ext);
      saveBlob(await resp.blob(), filenameOf(resp, "accounts-template." + ext));
    } catch (err) {
      showError(err);
    }
  }

  // downloadReport saves batch b's report, with the delimiter its file had: a spreadsheet set up
  // for semicolons opens a comma report as one column.
  async function downloadReport(b) {
    clearError();
    const status = $("report-status");
    const semi = b.delimiter === ";", tab = b.delimiter === "\t";
    try {
      const query = semi ? "?delimiter=%3B" : tab ? "?delimiter=tab" : "";
      const resp = await api("GET", "/v1/batches/" + encodeURIComponent(b.id) + "/report.csv" + query);
      const blob = await resp.blob();
      const name = filenameOf(resp, "batch-" + b.id + "-report.csv");
      saveBlob(blob, name);
      status.textContent = "Report saved as " + name + " (" + blob.size + " bytes)" +
        (semi ? ", with semicolons between the columns, like your file." : tab ? ", with tabs between the columns, like your file." : ".");
    } catch (err) {
      showError(err);
    }
  }

  // Upload.

  function setBusy(b) {
    busy = b;
    for (const id of ["check", "import", "import-invite", "org", "group", "file"]) $(id).disabled = b;
  }

  function formFor(fields) {
    const file = $("file").files[0];
    if (!file) throw { message: "choose the CSV file first" };
    if (!$("group").value) throw { message: "choose the permission group first" };
    const fd = new FormData();
    fd.append("permission_group", $("group").value);
    for (const [k, v] of Object.entries(fields)) fd.append(k, v);
    fd.append("file", file, file.name);
    return fd;
  }

  async function check() {
    if (busy) return;
    clearError();
    $("check-result").hidden = true;
    setBusy(true);
    try {
      // Checked as Import & Invite, the one that needs free numbers: the errors are the same
      // for Import, and the summary says what only Import & Invite would run short of.
      const fd = formFor({ dry_run: "true", invite: "true" });
      const r = await apiJSON("POST", "/v1/organizations/" + encodeURIComponent(org()) + "/batches", fd);
      const problems = (r.errors || []).concat((r.warnings || []).map((w) => ({ ...w, warning: true })));
      const body = $("check-errors").tBodies[0];
      body.replaceChildren(...problems.map((e) => {
        const tr = document.createElement("tr");
        if (e.warning) tr.className = "warning";
        tr.append(cell(String(e.row), "num"), cell(e.column || ""), cell((e.warning ? "Warning: " : "") + e.message));
        return tr;
      }));
      $("check-errors").hidden = problems.length === 0;
      let s = r.total + " rows: " + r.valid + " ready to import, " + r.invalid + " with problems.";
      const n = r.numbers;
      if (n && n.shortfall > 0) {
        s += " Import & Invite: only " + n.available + (n.available === 1 ? " number" : " numbers") + " available for " +
          n.needed + " rows that need one: about " + n.shortfall + (n.shortfall === 1 ? " row" : " rows") +
          " will fail with no number. Import alone gives those rows no number and does not fail them.";
      }
      if (r.notices && r.notices.length) s += " " + r.notices.join(" ");
      $("check-summary").textContent = s;
      $("check-result").hidden = false;
      $("check-title").focus();
    } catch (err) {
      showError(err);
    } finally {
      setBusy(false);
    }
  }

  async function startImport(invite) {
    if (busy) return;
    clearError();
    $("check-result").hidden = true;
    setBusy(true);
    try {
      const fd = formFor({ invite: invite ? "true" : "false" });
      const b = await apiJSON("POST", "/v1/organizations/" + encodeURIComponent(org()) + "/batches", fd);
      $("notices").textContent = (b.notices || []).join(" ");
      $("report").hidden = true;
      $("report-status").textContent = "";
      $("progress-card").hidden = false;
      showProgress(b, null);
      poll(b.id);
      loadBatches();
    } catch (err) {
      showError(err);
      setBusy(false);
    }
  }

  function stopPolling() {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  }

  function poll(id) {
    stopPolling();
    let first = null; // {t, processed}: the first poll that saw work done, for the rate
    const tick = async () => {
      try {
        const b = await apiJSON("GET", "/v1/batches/" + encodeURIComponent(id));
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
    let eta = "";
    if (b.finished_at) {
      eta = "";
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
    stopPolling();
    setBusy(false);
    $("progress-eta").textContent = b.failed ? "Finished: some rows failed; the report says why." : "Finished.";
    const btn = $("report");
    btn.hidden = false;
    btn.onclick = () => downloadReport(b);
    btn.focus();
    loadBatches();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("signin-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const t = $("token").value.trim();
      if (!t) return;
      sessionStorage.setItem(TOKEN_KEY, t);
      $("token").value = "";
      signIn();
    });
    $("upload-form").addEventListener("submit", (ev) => ev.preventDefault());
    $("signout").addEventListener("click", signOut);
    $("org").addEventListener("change", orgChanged);
    $("template").addEventListener("click", () => downloadTemplate("csv"));
    $("template-xlsx").addEventListener("click", () => downloadTemplate("xlsx"));
    $("check").addEventListener("click", check);
    $("import").addEventListener("click", () => startImport(false));
    $("import-invite").addEventListener("click", () => startImport(true));
    $("check-title").tabIndex = -1;
    if (token()) signIn();
  });
})();
