// upload.js drives the Multiple Accounts page: sign in, organization and group, Check only,
// Import and the batch history. api.js gives it the API call and the error box; progress.js
// follows a batch while it runs.
"use strict";

(function () {
  const { TOKEN_KEY, $, token, api, apiJSON, sentence, showError, clearError, saveBlob, filenameOf, option, cell } = window.ML;
  let busy = false;
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
        showError({ message: "This admin token has no organization in its scope" });
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
    window.ML.stopWatching();
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
    showNumbers();
    try {
      const data = await apiJSON("GET", "/v1/organizations/" + encodeURIComponent(org()) + "/permission-groups");
      const groups = data.permission_groups || [];
      $("group").replaceChildren(...groups.map((g) => option(g.id, g.name)));
      if (!groups.length) showError({ message: "This organization has no permission group yet; create one first" });
    } catch (err) {
      showError(err);
    }
    await loadBatches();
  }

  function showNumbers() {
    const sel = $("org").selectedOptions[0];
    const n = sel ? JSON.parse(sel.dataset.numbers || "{}") : {};
    $("org-numbers").textContent = sel ? "Numbers: " + (n.available || 0) + " available, " + (n.reserved || 0) + " reserved, " + (n.assigned || 0) + " assigned" : "";
  }

  // refreshNumbers reads the organization's number counts again: a batch reserves and assigns.
  async function refreshNumbers() {
    const id = org();
    try {
      const o = await apiJSON("GET", "/v1/organizations/" + encodeURIComponent(id));
      const op = [...$("org").options].find((x) => x.value === id);
      if (op) op.dataset.numbers = JSON.stringify(o.numbers || {});
      if (org() === id) showNumbers();
    } catch (err) {
      showError(err);
    }
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

  function batchRow(b) {
    const tr = document.createElement("tr");
    tr.dataset.batch = b.id;
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
      // A batch still running: follow it in the progress card, as after its upload.
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "secondary";
      btn.textContent = "Progress";
      btn.setAttribute("aria-label", "Show the progress of " + (b.filename || b.id) + ", " + when);
      btn.addEventListener("click", () => reopen(b));
      td.append(btn);
    }
    tr.append(td);
    return tr;
  }

  // batchChanged draws batch b's row in the history again, when it is there: the progress
  // card and the history say the same of the batch being followed.
  function batchChanged(b) {
    const tr = [...$("batches").tBodies[0].rows].find((r) => r.dataset.batch === b.id);
    if (tr) tr.replaceWith(batchRow(b));
  }

  // reopen follows running batch b in the progress card; uploads wait until it finishes.
  function reopen(b) {
    if (busy) return;
    clearError();
    $("check-result").hidden = true;
    $("notices").textContent = "";
    setBusy(true);
    window.ML.watch(b);
    $("progress-title").focus();
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
    if (!file) throw { message: "Choose the CSV file first" };
    if (!$("group").value) throw { message: "Choose the permission group first" };
    const fd = new FormData();
    fd.append("permission_group", $("group").value);
    for (const [k, v] of Object.entries(fields)) fd.append(k, v);
    fd.append("file", file, file.name);
    return fd;
  }

  // problem is e's message without the "Row 4, email address or device: " its own columns
  // say, starting with a capital again.
  function problem(e) {
    const prefix = "Row " + e.row + (e.column ? ", " + e.column : "") + ": ";
    return sentence(e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message);
  }

  async function check() {
    if (busy) return;
    clearError();
    $("check-result").hidden = true;
    window.ML.stopWatching();
    $("progress-card").hidden = true;
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
        tr.append(cell(String(e.row), "num"), cell(e.column || ""), cell((e.warning ? "Warning: " : "") + problem(e)));
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
    window.ML.stopWatching();
    $("progress-card").hidden = true;
    setBusy(true);
    try {
      const fd = formFor({ invite: invite ? "true" : "false" });
      const b = await apiJSON("POST", "/v1/organizations/" + encodeURIComponent(org()) + "/batches", fd);
      $("notices").textContent = (b.notices || []).join(" ");
      window.ML.watch(b);
      loadBatches();
    } catch (err) {
      showError(err);
      setBusy(false);
    }
  }

  // batchFinished is progress.js's word that the batch it follows is done.
  function batchFinished() {
    setBusy(false);
    loadBatches();
    refreshNumbers();
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
    $("progress-title").tabIndex = -1;
    if (token()) signIn();
  });

  Object.assign(window.ML, { downloadReport, batchFinished, batchChanged });
})();
