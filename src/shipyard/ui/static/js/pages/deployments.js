// Which model versions are served where, with traffic shares (canary, shadow).
import { api, seg } from "../api.js";
import { h, link, table, fmtTime, statusBadge, pageHeader } from "../dom.js";

export async function render() {
  const { deployments } = await api("/deployments");
  const live = deployments.filter((d) => d.status !== "stopped");
  const columns = [
    ["Model", (d) => link(`/models/${seg(d.model)}`, d.model)],
    ["Serves", (d) => [h("code", {}, d.reference), " → ", link(`/models/${seg(d.model)}/${d.version}`, `v${d.version}`)]],
    ["Mode", (d) => d.mode],
    ["Traffic", (d) => traffic(d)],
    ["Address", (d) => d.address],
    ["Status", (d) => statusBadge(d.status)],
    ["Started", (d) => fmtTime(d.started_at)],
    ["Last heartbeat", (d) => fmtTime(d.heartbeat_at)],
    ["Project", (d) => d.project],
  ];
  return h("div", {},
    pageHeader("Deployments"),
    table(columns, live, { caption: `Serving now (${live.length})`, empty: "Nothing is being served now." }),
    h("h2", {}, "Stopped"),
    table(columns, deployments.filter((d) => d.status === "stopped"), { empty: "No stopped deployments." }));
}

function traffic(d) {
  if (!d.challenger) return "100% primary";
  const share = Math.round((d.traffic_share || 0) * 100);
  const challenger = `${d.challenger}${d.challenger_version ? ` v${d.challenger_version}` : ""}`;
  if (d.mode === "shadow") return `100% primary; ${challenger} shadows ${share}%`;
  return `${100 - share}% primary, ${share}% ${challenger}`;
}
