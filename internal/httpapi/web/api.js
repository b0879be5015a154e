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
      super(e.message || ("The server answered " + status));
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
      throw new ApiError(0, { error: { message: "The server cannot be reached: " + err.message } });
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

  // sentence starts s with a capital as the API starts its messages (Go's
  // internal/sentence): a start that is no lower-case letter (a quote, a digit) and a first
  // word that is code or a name ("multiline_number", "iPhone") are left as they are.
  function sentence(s) {
    s = String(s || "");
    const word = s.split(/\s/, 1)[0].replace(/[,;:.!?)"']+$/, "");
    if (!/^\p{Ll}[\p{Ll}\p{Lm}\p{Lo}'’-]*$/u.test(word)) return s;
    const first = String.fromCodePoint(s.codePointAt(0));
    const upper = first.toUpperCase();
    return [...upper].length === 1 ? upper + s.slice(first.length) : s; // "ß" has no one-letter capital
  }

  // detailText is one of an error's details as a line: a string (a value, such as an
  // address the API refused) as it is, an object with a message as that sentence.
  function detailText(d) {
    if (d === null || d === undefined) return "";
    if (typeof d === "string") return d;
    if (d.message) return d.row ? "Row " + d.row + (d.column ? ", " + d.column : "") + ": " + d.message : sentence(d.message);
    return JSON.stringify(d);
  }

  // quoted lists the "…" parts of s.
  function quoted(s) { return (s.match(/"[^"]+"/g) || []); }

  // saysAgain is whether detail d only repeats what message says: every quoted name in it is
  // named in the message ("mandatory column "x" is missing" after "missing columns "x", …").
  function saysAgain(message, d) {
    const q = typeof d === "string" ? quoted(d) : [];
    return q.length > 0 && q.every((x) => message.includes(x));
  }

  // showError shows the API's message once: its sentences without repeats, the details the
  // message does not already say, and the error code only as data-code (for support, not as
  // raw text to read).
  function showError(err) {
    const box = $("error");
    box.replaceChildren();
    const seen = new Set();
    const message = String(err.message || "").split(/(?<=[.;])\s+/).filter((s) => {
      const k = s.replace(/[.;]$/, "").trim().toLowerCase();
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    }).join(" ");
    const p = document.createElement("p");
    p.textContent = sentence(message);
    p.style.margin = "0";
    box.append(p);
    const details = (err.details || []).map(detailText).filter((d) => d && !saysAgain(message, d) && !message.includes(d));
    if (details.length) {
      const ul = document.createElement("ul");
      for (const d of [...new Set(details)]) {
        const li = document.createElement("li");
        li.textContent = d;
        ul.append(li);
      }
      box.append(ul);
    }
    box.dataset.code = err.code || "";
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

  window.ML = { TOKEN_KEY, $, token, api, apiJSON, sentence, showError, clearError, saveBlob, filenameOf, option, cell };
})();
