import { api, seg } from "../api.js";
import { h, link, table, fmtTime, pageHeader, statusBadge } from "../dom.js";

export async function render() {
  const { monitors } = await api("/monitors");
  const latest = new Map(await Promise.all(monitors.map(async (m) => {
    const { runs } = await api(`/monitors/${seg(m.name)}/runs?limit=1`).catch(() => ({ runs: [] }));
    return [m.name, runs[0]];
  })));
  return h("div", {},
    pageHeader("Monitors"),
    table([
      ["Name", (m) => link(`/monitors/${seg(m.name)}`, m.name)],
      ["Model", (m) => h("code", {}, m.model)],
      ["Window", (m) => m.window],
      ["Alerts", (m) => (m.alerts || []).map((a) => h("div", {}, h("code", {}, a)))],
      ["Last run", (m) => { const r = latest.get(m.name); return r ? [statusBadge(r.status), " ", fmtTime(r.finished_at)] : "never"; }],
      ["Firing", (m) => { const r = latest.get(m.name); const f = firing(r); return f.length ? f.map((a) => h("div", {}, statusBadge("firing"), " ", a)) : "none"; }],
      ["Project", (m) => m.project],
    ], monitors, { caption: `${monitors.length} monitor(s)`, empty: "No monitors yet." }));
}

export function firing(run) {
  const alerts = (run && run.result && run.result.alerts) || {};
  return Object.entries(alerts).filter(([, a]) => a.firing).map(([rule]) => rule);
}
