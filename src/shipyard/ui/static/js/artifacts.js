// A run's artifacts, with previews fetched through the API with the user's token: images,
// tables (CSV/TSV), JSON, HTML reports (in a sandboxed frame that runs no script) and text.
import { apiBlob, api, seg } from "./api.js";
import { h, table, section, fmtBytes, errorBox } from "./dom.js";

const IMAGE = /\.(png|jpe?g|gif|webp|svg)$/i;
const TEXT = /\.(txt|log|md|yaml|yml|toml|py|cfg|ini|json|csv|tsv|html?|xml|sql|sh|requirements)$|(^|\/)(MLmodel|requirements\.txt|conda\.yaml)$/i;
const PREVIEW_BYTES = 2 * 1024 * 1024;

export function artifactsSection(runId) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading artifacts…"));
  const preview = h("div", { id: "artifact-preview", "aria-live": "polite" });
  api(`/runs/${seg(runId)}/artifacts`).then(({ artifacts }) => {
    body.replaceChildren(table([
      ["Path", (a) => h("code", {}, a.path)],
      ["Size", (a) => fmtBytes(a.size)],
      ["", (a) => IMAGE.test(a.path) || TEXT.test(a.path)
        ? h("button", { type: "button", class: "secondary", "aria-label": `Preview ${a.path}`, onclick: () => show(runId, a, preview) }, "Preview")
        : h("span", { class: "muted" }, "no preview")],
    ], artifacts, { empty: "No artifacts." }));
  }).catch((error) => body.replaceChildren(errorBox(error)));
  return section("Artifacts", body, preview);
}

async function show(runId, artifact, slot) {
  slot.replaceChildren(h("p", { class: "muted" }, `Loading ${artifact.path}…`));
  try {
    if (artifact.size > PREVIEW_BYTES && !IMAGE.test(artifact.path)) {
      slot.replaceChildren(h("p", { class: "muted" }, `${artifact.path} is ${fmtBytes(artifact.size)}: too large to preview.`));
      return;
    }
    const blob = await apiBlob(`/runs/${seg(runId)}/artifacts/${artifact.path.split("/").map(seg).join("/")}`);
    slot.replaceChildren(h("h3", {}, artifact.path), await render(artifact.path, blob));
  } catch (error) {
    slot.replaceChildren(errorBox(error));
  }
}

async function render(path, blob) {
  if (IMAGE.test(path)) {
    const type = /\.svg$/i.test(path) ? "image/svg+xml" : blob.type;
    return h("img", { class: "preview", alt: `Artifact ${path}`, src: URL.createObjectURL(new Blob([blob], { type })) });
  }
  const text = await blob.text();
  if (/\.html?$/i.test(path)) {
    // sandbox without allow-scripts: the report is shown, its scripts never run
    return h("iframe", { class: "preview", title: `Report ${path}`, sandbox: "", srcdoc: text });
  }
  if (/\.json$/i.test(path)) {
    try { return h("pre", {}, JSON.stringify(JSON.parse(text), null, 2)); } catch { /* fall through */ }
  }
  if (/\.(csv|tsv)$/i.test(path)) {
    const sep = /\.tsv$/i.test(path) ? "\t" : ",";
    const lines = text.split(/\r?\n/).filter(Boolean).slice(0, 51).map((l) => l.split(sep));
    const [head, ...rows] = lines;
    return table(head.map((name, i) => [name, (r) => r[i]]), rows, { caption: rows.length === 50 ? "first 50 rows" : undefined });
  }
  return h("pre", {}, text.slice(0, 200000));
}
