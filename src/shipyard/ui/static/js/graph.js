// Graphs with Cytoscape.js: lineage and pipeline DAGs.
import cytoscape from "../vendor/cytoscape/cytoscape.esm.min.js";

const COLORS = {
  dataset_version: "#15803d", run: "#0b5cad", model_version: "#7c3aed", pipeline_run: "#a16207",
  step_run: "#c2410c", feature_view: "#0e7490", deployment: "#be185d", monitor_run: "#b91c1c",
  alias_event: "#334155", FINISHED: "#15803d", CACHED: "#a16207", FAILED: "#b91c1c", RUNNING: "#0b5cad",
  SKIPPED: "#6b7280", QUEUED: "#6b7280", PENDING: "#6b7280",
};

// nodes: [{id, label, color?, kind?}], edges: [{source, target, label}]
export function drawGraph(container, nodes, edges, { onSelect, layout = "breadthfirst" } = {}) {
  const ranked = layout === "ranked";
  const positions = ranked ? rankPositions(nodes, edges) : null;
  if (ranked) {
    // tall enough for the widest rank at about full size, so labels stay readable
    const ys = Object.values(positions).map((p) => p.y);
    const span = ys.length ? Math.max(...ys) - Math.min(...ys) : 0;
    container.style.height = `${Math.min(900, Math.max(320, span + 120))}px`;
  }
  const cy = cytoscape({
    container,
    elements: [
      ...nodes.map((n) => ({ data: { ...n, color: n.color || COLORS[n.kind] || "#334155" } })),
      ...edges.map((e, i) => ({ data: { id: `e${i}`, ...e } })),
    ],
    style: [
      { selector: "node", style: { "background-color": "data(color)", label: "data(label)", color: "#1b1f24", "font-size": 11,
        "text-valign": "bottom", "text-margin-y": 4, "text-wrap": "wrap", "text-max-width": 140, width: 22, height: 22 } },
      { selector: "node[?root]", style: { "border-width": 4, "border-color": "#f0a500" } },
      { selector: "node:selected", style: { "border-width": 4, "border-color": "#111" } },
      { selector: "edge", style: { width: 1.5, "line-color": "#8a939d", "target-arrow-color": "#8a939d", "target-arrow-shape": "triangle",
        "curve-style": "bezier", label: "data(label)", "font-size": 9, color: "#4a525c", "text-rotation": "autorotate" } },
    ],
    layout: ranked
      ? { name: "preset", positions, padding: 30 }
      : layout === "breadthfirst"
      ? { name: "breadthfirst", directed: true, spacingFactor: 1.1, padding: 20 }
      : { name: layout, padding: 20 },
  });
  if (onSelect) cy.on("tap", "node", (event) => onSelect(event.target.data()));
  container.cy = cy;
  return cy;
}

// Left-to-right layers by longest path from the sources (a DAG drawn as it runs).
function rankPositions(nodes, edges) {
  const rank = new Map(nodes.map((n) => [n.id, 0]));
  for (let i = 0; i < nodes.length; i++) {
    let moved = false;
    for (const e of edges) {
      if (rank.has(e.source) && rank.has(e.target) && rank.get(e.target) < rank.get(e.source) + 1) {
        rank.set(e.target, rank.get(e.source) + 1);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const counts = new Map();
  for (const n of nodes) counts.set(rank.get(n.id), (counts.get(rank.get(n.id)) || 0) + 1);
  const rows = new Map();
  const positions = {};
  for (const n of nodes) {
    const r = rank.get(n.id);
    const row = rows.get(r) || 0;
    rows.set(r, row + 1);
    // rows far enough apart that a node's two-line label clears the node below it
    positions[n.id] = { x: r * 170, y: (row - (counts.get(r) - 1) / 2) * 80 };
  }
  return positions;
}

export { COLORS };
