// Greenlight pages: small progressive enhancements. Every page works without this file
// except the live preview of the declaration form.
"use strict";

document.documentElement.classList.add("js");

// The production switcher opens the production as soon as one is chosen.
document.addEventListener("change", (event) => {
  const form = event.target.closest("form[data-autosubmit]");
  if (form) form.submit();
});

document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});

// formToDocument builds the declaration document from the form exactly as the server does
// (src/pages/form.rs): later values win, "true"/"false" are booleans, "" is left out,
// names ending in [] collect lists, "_x" gates remove their sibling "x", and rows holding no
// string at all are dropped.
function formToDocument(form) {
  const root = {};
  const control = new Set(["csrf", "etag", "add", "remove", "action", "declaration", "reason"]);
  for (const [name, raw] of new FormData(form).entries()) {
    if (control.has(name) || typeof raw !== "string") continue;
    const value = raw.trim();
    const segments = [];
    for (const part of name.split(".")) {
      const m = part.match(/^([^\[]+)((?:\[\d*\])*)$/);
      if (!m) { segments.length = 0; break; }
      segments.push(m[1]);
      for (const idx of m[2].match(/\[\d*\]/g) || []) {
        segments.push(idx === "[]" ? "[]" : Number(idx.slice(1, -1)));
      }
    }
    if (!segments.length) continue;
    let node = root;
    for (let i = 0; i < segments.length; i++) {
      const key = segments[i];
      const last = i === segments.length - 1;
      const next = segments[i + 1];
      if (next === "[]") {
        node[key] = node[key] || [];
        if (value !== "") node[key].push(value);
        break;
      }
      if (last) { node[key] = value; break; }
      if (node[key] === undefined) node[key] = typeof next === "number" ? {__rows: true} : {};
      node = node[key];
    }
  }
  function hasString(v) {
    if (typeof v === "string") return true;
    if (Array.isArray(v)) return v.some(hasString);
    if (v && typeof v === "object") return Object.values(v).some(hasString);
    return false;
  }
  function finish(v) {
    if (typeof v === "string") {
      if (v === "") return undefined;
      if (v === "true") return true;
      if (v === "false") return false;
      return v;
    }
    if (Array.isArray(v)) return v;
    if (v.__rows) {
      return Object.keys(v).filter((k) => k !== "__rows").map(Number).sort((a, b) => a - b)
        .map((k) => finish(v[k])).filter((x) => x !== undefined && hasString(x));
    }
    const out = {};
    const closed = new Set(Object.keys(v).filter((k) => k.startsWith("_") && v[k] !== "true").map((k) => k.slice(1)));
    for (const k of Object.keys(v)) {
      if (k.startsWith("_") || closed.has(k)) continue;
      const f = finish(v[k]);
      if (f !== undefined) out[k] = f;
    }
    return out;
  }
  const doc = finish(root);
  delete doc.greenlight;
  return Object.assign({greenlight: "declaration/v1"}, doc);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

const OUTCOME_LABELS = {notify: "Notify", review: "Review", escalate: "Escalate", written_approval: "Written approval"};
const ANSWER_LABELS = {met: "Met", "not-met": "Not met", unsure: "Unsure"};

// "no blockers", "1 blocker", "3 blockers".
function counted(n, noun) {
  return n === 0 ? "no " + noun + "s" : n + " " + noun + (n === 1 ? "" : "s");
}

// The label a person sees for a field path ("use.ref" is "Your reference"), from the form
// itself; the path when the form has no such field.
function fieldLabel(path) {
  const input = document.querySelector('#declare-form [name="' + CSS.escape(path) + '"]:not([type=hidden])');
  const label = input && input.id && document.querySelector('label[for="' + CSS.escape(input.id) + '"]');
  return label ? label.textContent.replace(/\s*\(optional\)\s*$/, "").trim() : path;
}

function showResult(body, data) {
  const r = data.result || data;
  body.replaceChildren();
  for (const w of data.warnings || []) {
    body.append(el("p", {class: "flash error", role: "alert", "data-warning": w.path || ""},
      w.path ? fieldLabel(w.path) + ": " : "", w.message || ""));
  }
  body.append(el("div", {class: "outcome-line"},
    el("span", {class: "badge o-" + r.outcome, "data-outcome": r.outcome}, OUTCOME_LABELS[r.outcome] || r.outcome),
    el("span", {class: "small muted"}, counted((r.blockers || []).length, "blocker"))));
  if (r.principles) {
    const row = el("div", {class: "actions mb-xs"});
    for (const [p, a] of Object.entries(r.principles)) {
      row.append(el("span", {class: "badge p-" + a, title: p.toUpperCase()}, p.toUpperCase() + " " + (ANSWER_LABELS[a] || a)));
    }
    body.append(row);
  }
  if ((r.blockers || []).length) {
    body.append(el("h3", {}, "Blockers"));
    const ol = el("ol");
    for (const b of r.blockers) ol.append(el("li", {"data-blocker": b.rule}, el("span", {class: "rule"}, b.rule), " ", b.message));
    body.append(ol);
  }
  body.append(el("h3", {}, "Why, rule by rule"));
  const ol = el("ol", {id: "preview-findings"});
  for (const f of r.findings || []) {
    ol.append(el("li", {"data-rule": f.rule},
      el("span", {class: "badge o-" + f.outcome}, OUTCOME_LABELS[f.outcome] || f.outcome), " ",
      el("span", {class: "rule"}, f.rule), el("br"), f.message));
  }
  body.append(ol);
  if ((data.differences || []).length) {
    body.append(el("p", {class: "diffnote"}, "The studio's records differ from what is declared on " +
      data.differences.map((d) => d.path).join(", ") + "; the preview uses the records."));
  }
}

function showProblems(body, problem) {
  body.replaceChildren(el("p", {class: "small"}, "Complete these to see the outcome:"));
  const ul = el("ul", {class: "small"});
  for (const e of problem.errors || []) ul.append(el("li", {}, e.path ? fieldLabel(e.path) + ": " : "", e.detail || e.message || ""));
  if (!(problem.errors || []).length) ul.append(el("li", {}, problem.detail || problem.title || "The declaration is not complete."));
  body.append(ul);
}

function setUpPreview() {
  const aside = document.getElementById("preview");
  const form = document.getElementById("declare-form");
  if (!aside || !form) return;
  const body = document.getElementById("preview-body");
  const url = aside.dataset.triageUrl;
  let timer = null;
  let sequence = 0;
  async function run() {
    const mine = ++sequence;
    aside.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json", "X-Greenlight-Request": "1"},
        body: JSON.stringify(formToDocument(form)),
      });
      const data = await response.json().catch(() => ({}));
      if (mine !== sequence) return;
      if (response.ok) showResult(body, data); else showProblems(body, data);
      aside.dataset.state = response.ok ? "ok" : "problem";
    } catch (err) {
      if (mine === sequence) body.replaceChildren(el("p", {class: "small"}, "The preview is unavailable right now."));
    } finally {
      if (mine === sequence) aside.removeAttribute("aria-busy");
    }
  }
  const schedule = () => { clearTimeout(timer); timer = setTimeout(run, 250); };
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  run();
}

window.greenlightFormToDocument = formToDocument;
document.addEventListener("DOMContentLoaded", setUpPreview);
