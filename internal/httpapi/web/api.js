// api.js holds what the upload page's scripts share: the v1 API call with the admin token
// kept in sessionStorage, the error box that shows the API's own messages, and small DOM
// helpers. It defines window.ML; upload.js and progress.js add to it.
"use strict";

(function () {
  const TOKEN_KEY = "multiline.adminToken";
  const $ = (id) => document.getElementById(id);

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

  // api calls the v1 API; extra may hold an accept header and a signal that ends the call.
  async function api(method, path, body, extra) {
    const { accept, signal } = extra || {};
    const opts = { method, headers: { Authorization: "Bearer " + token() }, signal };
    if (accept) opts.headers.Accept = accept;
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

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  window.ML = { TOKEN_KEY, $, token, api, apiJSON, showError, clearError, saveBlob, filenameOf, option, cell };
})();
