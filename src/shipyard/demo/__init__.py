"""The end-to-end demo on bundled data (scikit-learn's breast-cancer set; nothing is
downloaded): what ``shipyard demo`` runs.

1. Data (:mod:`._data`): the measurements are a feature view of the ``patient`` entity; the
   training set is a point-in-time join of the labels with the ``demo-features`` service,
   saved as a dataset version; the features are materialized online and looked up.
2. Training (:mod:`._training`): a pipeline, ingest -> validate -> split -> train (a sweep
   over three model families, one tracked run per candidate, each model logged in the
   registry's safe format with its signature) -> evaluate -> register, which registers the
   best candidate as ``demo-model`` and promotes it to ``@champion`` through gates.
3. The champion (:mod:`._champion`): the pipeline runs twice (the second run entirely from
   the cache), the runs are ranked, the champion is loaded back by alias (hash-verified)
   and scores a few validation rows.
4. Serving (:mod:`._serving`): the champion behind the model server in the background, a
   burst of requests, the server's own metrics read back.
5. The closed loop (:mod:`._loop`, :mod:`._lineage`): recalibrated-instrument traffic,
   drift flagged by a monitor, labels, a new dataset version, the retraining policy
   promoting a new champion, the server swapping to it, and predictions walked back through
   lineage to their data and code.

:func:`show` plays it all on a :class:`Screen` (:mod:`._show`, tables in :mod:`._tables`);
the CLI passes its terminal. The package sits just under the CLI in the layers: nothing else
in the library imports it, and it uses only the public names of the SDK packages.
"""

from shipyard.demo._champion import DemoResult, Scored, run_demo
from shipyard.demo._data import FEATURE_SERVICE, PATIENT, TARGET
from shipyard.demo._lineage import PredictionLineage, walk
from shipyard.demo._loop import SCALE, SHIFTED, LoopResult, Traffic, recalibrated, run_loop
from shipyard.demo._names import (
    DATASET,
    EXPERIMENT as DEMO_EXPERIMENT,
    MODEL as DEMO_MODEL,
    DemoNames,
    first_free,
    next_demo,
)
from shipyard.demo._serving import ServingDemo, run_serving_demo
from shipyard.demo._show import Report, Screen, show
from shipyard.demo._training import DEMO_GATES, training

__all__ = [
    "DATASET",
    "DEMO_EXPERIMENT",
    "DEMO_GATES",
    "DEMO_MODEL",
    "FEATURE_SERVICE",
    "PATIENT",
    "SCALE",
    "SHIFTED",
    "TARGET",
    "DemoNames",
    "DemoResult",
    "LoopResult",
    "PredictionLineage",
    "Report",
    "Scored",
    "Screen",
    "ServingDemo",
    "Traffic",
    "first_free",
    "next_demo",
    "recalibrated",
    "run_demo",
    "run_loop",
    "run_serving_demo",
    "show",
    "training",
    "walk",
]
