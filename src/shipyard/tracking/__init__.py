"""Experiment tracking: runs, params, metrics, tags, artifacts and search.

(Autologging, which also logs the fitted model, lives with the model flavors in
:mod:`shipyard.registry`; ``shipyard.autolog`` is the public name.)
"""

from shipyard.tracking._client import Client
from shipyard.tracking._environment import (
    current_user,
    package_set,
    packages_hash,
    recorded_environment,
    recorded_package_set,
)
from shipyard.tracking._fluent import (
    active_run,
    configure,
    configured_client,
    download_artifact,
    end_run,
    get_client,
    get_metric_history,
    get_run,
    log_artifact,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    reap_runs,
    runs_to_frame,
    search_runs,
    set_tag,
    set_tags,
    start_run,
)
from shipyard.tracking._run import ActiveRun, on_run_start

__all__ = [
    "ActiveRun",
    "Client",
    "active_run",
    "configure",
    "configured_client",
    "current_user",
    "download_artifact",
    "end_run",
    "get_client",
    "get_metric_history",
    "get_run",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "on_run_start",
    "package_set",
    "packages_hash",
    "reap_runs",
    "recorded_environment",
    "recorded_package_set",
    "runs_to_frame",
    "search_runs",
    "set_tag",
    "set_tags",
    "start_run",
]
