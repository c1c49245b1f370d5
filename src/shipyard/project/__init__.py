"""A project's lifecycle: ``shipyard init`` writes a working project (features, a training
pipeline with promotion gates, tests, pre-commit hooks and CI for GitHub Actions and
GitLab CI), ``shipyard check`` verifies that its feature definitions and pipelines load, and
``shipyard doctor`` scores its MLOps maturity against the rubric of docs/maturity.md, and
``shipyard reproduce`` rebuilds a registered model from its record and compares the hashes.

    from shipyard.project import check_project, init_project

    init_project("churn-model")
    assert check_project("churn-model").ok

The package sits above the SDK areas (pipelines, registry, data, features) and under the CLI.
"""

from shipyard.project._check import CheckReport, Finding, check_project, project_config
from shipyard.project._doctor import RUBRIC, AreaScore, Assessment, Criterion, assess
from shipyard.project._init import ProjectNames, init_project
from shipyard.project._reproduce import Reproduction, reproduce

__all__ = [
    "RUBRIC",
    "AreaScore",
    "Assessment",
    "CheckReport",
    "Criterion",
    "Finding",
    "ProjectNames",
    "Reproduction",
    "assess",
    "check_project",
    "init_project",
    "project_config",
    "reproduce",
]
