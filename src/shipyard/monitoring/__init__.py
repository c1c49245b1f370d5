"""Monitoring: reference profiles, drift tests, performance with delayed labels, monitors,
reports and alerts.

    import shipyard.monitoring as mon
    reference = mon.fit_reference("churn@3")              # once; stored as a small blob
    report = mon.drift(reference, current_frame)           # per-column tests and a verdict
    print(report.share_drifted, report.drifted_columns)
    strict = mon.drift(reference, current_frame, mon.DriftOptions(alpha=0.01, columns=["age"]))
    mon.log_labels(["3f2a..."], [1])                       # ground truth, joined later
    mon.create_monitor("churn", "churn@champion", schedule="*/15 * * * *",
                       alerts=["share_drifted > 0.3", "prediction_drifted == 1"])
    Scheduler(jobs=[mon.MonitorJob()]).tick()              # what `shipyard scheduler` does

The prediction log itself is written, read and labelled by :mod:`shipyard.serving` (the one
owner of its layout); ``log_labels``, ``read_predictions`` and ``read_labels`` are the same
functions here.
"""

from shipyard.monitoring._api import drift, fit_reference, load_reference, performance
from shipyard.monitoring._drift import ColumnDrift, DriftReport
from shipyard.monitoring._gauges import gauges_text
from shipyard.monitoring._monitor import create_monitor, monitor_history, run_monitor
from shipyard.monitoring._options import DriftOptions
from shipyard.monitoring._performance import PerformanceReport, PerformanceRow
from shipyard.monitoring._profile import ColumnProfile, ReferenceProfile
from shipyard.monitoring._report import render_html, report_data, write_report
from shipyard.monitoring._retrain import (
    RetrainPolicy,
    get_retrain_policy,
    holdout_mask,
    labelled_window,
    remove_retrain_policy,
    set_retrain_policy,
)
from shipyard.monitoring._scheduler import MonitorJob
from shipyard.monitoring._stat_tests import TestResult
from shipyard.serving import log_labels, read_labels, read_predictions

__all__ = [
    "ColumnDrift",
    "ColumnProfile",
    "DriftOptions",
    "DriftReport",
    "MonitorJob",
    "PerformanceReport",
    "PerformanceRow",
    "ReferenceProfile",
    "RetrainPolicy",
    "TestResult",
    "create_monitor",
    "drift",
    "fit_reference",
    "gauges_text",
    "get_retrain_policy",
    "holdout_mask",
    "labelled_window",
    "load_reference",
    "log_labels",
    "monitor_history",
    "performance",
    "read_labels",
    "read_predictions",
    "remove_retrain_policy",
    "render_html",
    "report_data",
    "run_monitor",
    "set_retrain_policy",
    "write_report",
]
