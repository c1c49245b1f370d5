"""REST endpoint of the prediction log: which model version answered a prediction.

``GET /predictions/{prediction_id}`` finds a prediction in the server's prediction log (its
first row that is not a shadow's: the answer the caller got) and names what answered it:
the model, version and alias, the role (primary or canary), the deployment, and the
lineage node to walk upstream from (the deployment when the server was recorded as one,
else the model version), so a page can walk from a prediction to the run, dataset versions
and commit behind it.

A prediction belongs to the project of the model that answered it: reading it needs the
viewer role there. For anyone else it is a 404, as if it were not logged, so a prediction
id never tells who else is served.
"""

from __future__ import annotations

from fastapi import Response

from shipyard import _validation as v
from shipyard.errors import NotFound
from shipyard.server._access import CallerDep
from shipyard.server._http import api_router, respond

router = api_router()

#: The longest prediction id looked up (as long as a label may name).
MAX_PREDICTION_ID = 200


@router.get("/predictions/{prediction_id}", tags=["serving"])
def get_prediction(prediction_id: str, caller: CallerDep) -> Response:
    """Who answered a logged prediction: ``model``, ``version``, ``model_version_id``,
    ``run_id`` (the version's training run), ``alias``, ``role``, ``ts``, ``deployment``
    ("" when none was recorded) and ``node`` (``{"kind", "id"}``: where its lineage walk
    starts). 404 when the log has no such prediction or the caller may not read the
    model's project."""
    from shipyard.serving import find_prediction

    prediction_id = v.check_text(prediction_id, "prediction_id", MAX_PREDICTION_ID)
    # the id is not echoed: the answer is the same whether it is logged elsewhere or not
    absent = NotFound("no such prediction is in the prediction log", field="prediction")
    try:
        found = find_prediction(prediction_id, settings=caller.store.settings)
        project = caller.backend.project_of("model", found["model"])
        if not caller.may_see(project):
            raise absent
        version = caller.store.get_model_version(found["model"], found["version"])
    except NotFound:
        raise absent from None
    caller.require(project, "viewer")  # notes the project for the audit log
    node = (
        {"kind": "deployment", "id": found["deployment"]}
        if found["deployment"]
        else {"kind": "model_version", "id": version.id}
    )
    return respond(
        {
            **found,
            "model_version_id": version.id,
            "run_id": version.run_id or "",
            "project": project,
            "node": node,
        }
    )
