// Small helpers to build pages: elements, tables, formatting. No framework.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const link = (href, text, attrs = {}) => h("a", { href, ...attrs }, text);

export function fmtTime(ms) {
  if (ms === null || ms === undefined || ms === 0) return "";
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function fmtValue(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    const abs = Math.abs(value);
    return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(4) : String(Number(value.toPrecision(6)));
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

export const short = (id) => (id ? String(id).slice(0, 12) : "");

// A table: columns are [header, cell(row) -> node|text] pairs.
export function table(columns, rows, { caption, empty = "Nothing here yet.", attrs = {} } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h("div", { class: "table-wrap" },
    h("table", attrs,
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, columns.map(([label]) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row))))))));
}

// A two-column table of key -> value.
export function kvTable(object, { caption, empty = "None." } = {}) {
  const entries = Object.entries(object || {});
  return table([["Key", ([k]) => k], ["Value", ([, v]) => fmtValue(v)]], entries, { caption, empty });
}

export function section(title, ...children) {
  return h("section", { "aria-label": title }, h("h2", {}, title), ...children);
}

export function errorBox(error) {
  return h("p", { class: "error", role: "alert" }, error && error.message ? error.message : String(error));
}

export function statusBadge(status) {
  const s = String(status || "").toLowerCase();
  return h("span", { class: `badge badge-${s}` }, status);
}

export function pageHeader(title, ...extra) {
  document.title = `${title} · Shipyard`;
  return h("div", { class: "page-head" }, h("h1", {}, title), ...extra);
}

// Read a small JSON preference from localStorage (null when absent or unreadable).
export function loadPref(key) {
  try { return JSON.parse(localStorage.getItem(key) || "null"); } catch { return null; }
}

export function savePref(key, value) {
  localStorage.setItem(key, JSON.stringify(value));
}
