// An experiment's runs: server-side paging and sorting through the search API, the SDK's
// filter language (the server's error shown inline), a column chooser for any param, metric
// or tag (remembered per experiment), and multi-select to compare.
import { api, seg } from "../api.js";
import { navigate } from "../app.js";
import { h, link, fmtTime, fmtDuration, fmtValue, statusBadge, pageHeader, loadPref, savePref, errorBox } from "../dom.js";

const PAGE_SIZE = 50;
const FIXED = [
  ["name", "Run"], ["status", "Status"], ["start_time", "Started"], ["duration", "Duration"], ["user", "User"],
];

function cell(run, column) {
  const [kind, ...rest] = column.split(".");
  const key = rest.join(".");
  const bag = kind === "params" ? run.params : kind === "metrics" ? run.metrics : run.tags;
  return bag ? bag[key] : undefined;
}

export async function render(params, query) {
  const experimentId = params.experiment;
  // the experiment and the first page of runs are asked for at once: one round trip, not two
  const experimentRequest = api(`/experiments/${seg(experimentId)}`);
  let experiment = null;
  const prefKey = `shipyard.columns.${experimentId}`;
  const state = {
    filter: query.get("filter") || "",
    order: query.get("order") || "",
    tokens: [null], // page tokens: tokens[i] opens page i
    page: 0,
    columns: loadPref(prefKey),
    selected: new Set(),
    runs: [],
    allColumns: null,
  };

  const filterInput = h("input", { id: "filter", type: "search", value: state.filter, placeholder: "metrics.auc > 0.9 and params.model = 'xgb'", "aria-describedby": "filter-help filter-error", spellcheck: "false", autocomplete: "off" });
  const filterError = h("div", { id: "filter-error" });
  const tableSlot = h("div", { id: "runs-table" });
  const pageInfo = h("span", { class: "muted", id: "page-info", "aria-live": "polite" });
  const prev = h("button", { class: "secondary", type: "button", id: "prev-page", onclick: () => go(state.page - 1) }, "‹ Previous");
  const next = h("button", { class: "secondary", type: "button", id: "next-page", onclick: () => go(state.page + 1) }, "Next ›");
  const compare = h("button", { type: "button", id: "compare", disabled: true, onclick: openCompare }, "Compare selected");
  const chooser = h("details", { class: "columns", ontoggle: () => chooser.open && fillChooser() },
    h("summary", {}, "Columns"), h("div", { class: "chooser-body" }, h("p", { class: "muted" }, "Loading keys…")));

  function syncUrl() {
    const q = new URLSearchParams();
    if (state.filter) q.set("filter", state.filter);
    if (state.order) q.set("order", state.order);
    const qs = q.toString();
    history.replaceState(null, "", `/experiments/${seg(experimentId)}${qs ? `?${qs}` : ""}`);
  }

  async function load() {
    tableSlot.setAttribute("aria-busy", "true");
    try {
      const page = await api("/runs/search", { method: "POST", body: {
        experiment_ids: [experimentId],
        filter: state.filter || null,
        order_by: state.order ? [state.order] : [],
        limit: PAGE_SIZE,
        page_token: state.tokens[state.page],
      } });
      filterError.replaceChildren();
      filterInput.removeAttribute("aria-invalid");
      state.runs = page.runs;
      state.loaded = true;
      state.tokens[state.page + 1] = page.next_page_token || undefined;
      if (!state.columns) state.columns = defaultColumns(page.runs);
      drawTable();
    } catch (error) {
      if (error.field === "filter" || error.code === "invalid_argument" || error.code === "filter_syntax") {
        filterInput.setAttribute("aria-invalid", "true");
        filterError.replaceChildren(errorBox(error));
      } else {
        tableSlot.replaceChildren(errorBox(error));
      }
    } finally {
      tableSlot.removeAttribute("aria-busy");
    }
  }

  function go(page) {
    if (page < 0 || (page > state.page && !state.tokens[page])) return;
    state.page = page;
    load();
  }

  function sortBy(column) {
    const [current, direction] = state.order.split(" ");
    state.order = `${column} ${current === column && direction === "desc" ? "asc" : "desc"}`;
    state.tokens = [null];
    state.page = 0;
    syncUrl();
    load();
  }

  function header(column, label) {
    const [current, direction] = state.order.split(" ");
    const sorted = current === column ? (direction === "asc" ? "ascending" : "descending") : null;
    return h("th", { scope: "col", "aria-sort": sorted || "none" },
      h("button", { class: "sort", type: "button", dataset: { column }, onclick: () => sortBy(column), title: `Sort by ${label}` },
        label, sorted ? (sorted === "ascending" ? " ▲" : " ▼") : ""));
  }

  function drawTable() {
    const columns = state.columns || [];
    const allBox = h("input", { type: "checkbox", "aria-label": "Select all runs on this page",
      checked: state.runs.length > 0 && state.runs.every((r) => state.selected.has(r.id)),
      onchange: (e) => { state.runs.forEach((r) => e.target.checked ? state.selected.add(r.id) : state.selected.delete(r.id)); drawTable(); } });
    const rows = state.runs.map((run) => {
      const box = h("input", { type: "checkbox", "aria-label": `Select run ${run.name}`, checked: state.selected.has(run.id),
        onchange: (e) => { e.target.checked ? state.selected.add(run.id) : state.selected.delete(run.id); e.target.closest("tr").classList.toggle("selected", e.target.checked); updateCompare(); } });
      return h("tr", { class: state.selected.has(run.id) ? "selected" : "" },
        h("td", {}, box),
        h("td", {}, link(`/runs/${seg(run.id)}`, run.name || run.id.slice(0, 12))),
        h("td", {}, statusBadge(run.status)),
        h("td", {}, fmtTime(run.start_time)),
        h("td", { class: "num" }, run.end_time ? fmtDuration(run.end_time - run.start_time) : ""),
        h("td", {}, run.user),
        columns.map((c) => h("td", { class: c.startsWith("metrics.") ? "num" : "" }, fmtValue(cell(run, c)))));
    });
    const table = h("table", { id: "runs", "aria-label": `Runs of ${experiment ? experiment.name : "this experiment"}` },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, allBox),
        FIXED.map(([c, label]) => c === "user" || c === "status" ? h("th", { scope: "col" }, label) : header(c, label)),
        columns.map((c) => header(c, c)))),
      h("tbody", {}, rows));
    tableSlot.replaceChildren(state.runs.length ? h("div", { class: "table-wrap" }, table)
      : h("p", { class: "empty" }, state.filter ? "No run matches this filter." : "No runs yet."));
    pageInfo.textContent = `Page ${state.page + 1} · ${state.runs.length} run(s) shown`;
    prev.disabled = state.page === 0;
    next.disabled = !state.tokens[state.page + 1];
    updateCompare();
  }

  function updateCompare() {
    compare.disabled = state.selected.size < 2;
    compare.textContent = `Compare selected (${state.selected.size})`;
  }

  function openCompare() {
    const ids = [...state.selected];
    sessionStorage.setItem("shipyard.compare", JSON.stringify({ experiments: [experimentId], runs: ids }));
    navigate(ids.length <= 40 ? `/compare?runs=${ids.join(",")}` : "/compare?selection=session");
  }

  async function fillChooser() {
    const body = chooser.querySelector(".chooser-body");
    if (!state.allColumns) {
      try {
        state.allColumns = await api(`/experiments/${seg(experimentId)}/columns`);
      } catch (error) {
        body.replaceChildren(errorBox(error));
        return;
      }
    }
    const find = h("input", { type: "search", id: "column-search", placeholder: "params.lr", "aria-label": "Find a column" });
    const list = h("div", { class: "choices" });
    const draw = () => {
      const needle = find.value.toLowerCase();
      const keys = ["params", "metrics", "tags"].flatMap((kind) => state.allColumns[kind].map((k) => `${kind}.${k}`));
      const shown = keys.filter((k) => k.toLowerCase().includes(needle)).slice(0, 300);
      list.replaceChildren(...shown.map((k) => h("label", {},
        h("input", { type: "checkbox", checked: (state.columns || []).includes(k), onchange: (e) => toggle(k, e.target.checked) }), " ", k)));
      if (keys.length > shown.length) list.append(h("p", { class: "muted" }, `${keys.length - shown.length} more: narrow the search.`));
    };
    find.addEventListener("input", draw);
    body.replaceChildren(h("div", { class: "form-row" }, find,
      h("button", { type: "button", class: "secondary", onclick: () => { state.columns = defaultColumns(state.runs); savePref(prefKey, state.columns); drawTable(); draw(); } }, "Reset")), list);
    draw();
  }

  function toggle(column, on) {
    const columns = (state.columns || []).filter((c) => c !== column);
    if (on) columns.push(column);
    state.columns = columns;
    savePref(prefKey, columns);
    drawTable();
  }

  const form = h("form", { class: "filter-form", role: "search", onsubmit: (e) => {
    e.preventDefault();
    state.filter = filterInput.value.trim();
    state.tokens = [null];
    state.page = 0;
    syncUrl();
    load();
  } }, h("label", { for: "filter" }, "Filter"), filterInput, h("button", { type: "submit" }, "Apply"));

  [experiment] = await Promise.all([experimentRequest, load()]);
  if (state.loaded) drawTable(); // again, now that the table can be labelled with its name
  return h("div", {},
    pageHeader(experiment.name, h("span", { class: "muted" }, `project ${experiment.project}`)),
    form,
    h("p", { id: "filter-help", class: "legend-note" }, "The search language of shipyard.search_runs: metrics.<key>, params.<key>, tags.<key>, status, name, start_time, duration; and/or/not, in, like, is null."),
    filterError,
    h("div", { class: "toolbar" }, chooser, compare, prev, next, pageInfo),
    tableSlot);
}

function defaultColumns(runs) {
  const params = new Set();
  const metrics = new Set();
  for (const run of runs.slice(0, 50)) {
    Object.keys(run.params || {}).forEach((k) => params.add(k));
    Object.keys(run.metrics || {}).forEach((k) => metrics.add(k));
  }
  return [...[...params].sort().slice(0, 4).map((k) => `params.${k}`), ...[...metrics].sort().slice(0, 5).map((k) => `metrics.${k}`)];
}
