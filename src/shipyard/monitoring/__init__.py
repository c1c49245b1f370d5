"""Monitoring: ground truth for logged predictions (drift, performance and alerts grow here).

    import shipyard.monitoring
    shipyard.monitoring.log_labels(["3f2a..."], [1])   # joinable on prediction_id (and row)

The prediction log itself is written by the model server (:mod:`shipyard.serving`).
"""

from shipyard.serving import log_labels, read_labels, read_predictions

__all__ = ["log_labels", "read_labels", "read_predictions"]
