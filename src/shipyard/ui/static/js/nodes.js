// What a lineage node is called and where its page is, resolved through the API.
import { api, seg } from "./api.js";
import { short } from "./dom.js";

const cache = new Map();

// {label, href} of a lineage node (kind, id); falls back to the kind and a short id.
export async function describe(kind, id) {
  const key = `${kind}:${id}`;
  if (!cache.has(key)) cache.set(key, resolve(kind, id).catch(() => ({ label: `${kind} ${short(id)}`, href: null })));
  return cache.get(key);
}

async function resolve(kind, id) {
  switch (kind) {
    case "run": {
      const run = await api(`/runs/${seg(id)}`);
      return { label: `run ${run.name || short(id)}`, href: `/runs/${seg(id)}` };
    }
    case "model_version": {
      const v = await api(`/model-versions/${seg(id)}`);
      return { label: `model ${v.name}/${v.version}`, href: `/models/${seg(v.name)}/${v.version}` };
    }
    case "dataset_version": {
      const d = await api(`/dataset-versions/${seg(id)}`);
      return { label: `dataset ${d.dataset}@${d.version}`, href: `/datasets/${seg(d.dataset)}/${d.version}` };
    }
    case "pipeline_run": {
      const r = await api(`/pipeline-runs/${seg(id)}`);
      return { label: `pipeline run ${r.pipeline} ${short(id)}`, href: `/pipeline-runs/${seg(id)}` };
    }
    case "step_run": {
      const s = await api(`/step-runs/${seg(id)}`);
      return { label: `step ${s.name}`, href: `/pipeline-runs/${seg(s.pipeline_run_id)}` };
    }
    case "feature_view":
      return { label: `feature view ${id}`, href: `/features/feature_view/${seg(id)}` };
    case "deployment":
      return { label: `deployment ${short(id)}`, href: "/deployments" };
    default:
      return { label: `${kind.replace("_", " ")} ${short(id)}`, href: null };
  }
}
