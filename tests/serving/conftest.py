"""Fixtures of the serving tests: a small registered model, a live model server, and the
functions that make more of them (each fixture hands the test a function where a test needs
several)."""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.config import Settings
from shipyard.serving import ServingConfig
from shipyard.serving._background import BackgroundServer
from shipyard.tracking import Client
from tests.support.warm import WarmPython


def _cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@functools.cache
def _fitted(**fit: Any) -> LogisticRegression:
    """A logistic regression fitted on the breast-cancer data with the options ``fit``, once
    per test process (about a second of CPU each; tests only read it)."""
    X, y = _cancer()
    return LogisticRegression(max_iter=5000, **fit).fit(X, y)


def _register(name: str = "churn", alias: str | None = "champion", **fit: Any) -> int:
    """Register a logistic regression on the breast-cancer data; point ``alias`` at it."""
    X, _ = _cancer()
    model = _fitted(**fit)
    version = shipyard.register_model(model, name, input_example=X.head())
    if alias:
        shipyard.set_alias(name, alias, version.version)
    return version.version


@pytest.fixture
def served_model(sqlite_sdk: Client) -> tuple[pd.DataFrame, pd.Series]:
    """``churn@champion`` registered in a fresh home; the data it was trained on."""
    _register()
    return _cancer()


def _start(ref: str = "churn@champion", **options: Any) -> BackgroundServer:
    options.setdefault("log_flush_seconds", 0.1)
    options.setdefault("poll_seconds", 0)
    return BackgroundServer(ref, ServingConfig(**options)).start()


@pytest.fixture
def server(served_model: Any) -> Iterator[BackgroundServer]:
    with _start() as running:
        yield running


@pytest.fixture
def http(server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def _v2_body(frame: pd.DataFrame) -> dict[str, Any]:
    """A V2 JSON request with one FP64 tensor per column."""
    return {
        "inputs": [
            {"name": c, "datatype": "FP64", "shape": [len(frame)], "data": frame[c].tolist()}
            for c in frame.columns
        ]
    }


@pytest.fixture
def cancer() -> Callable[[], tuple[pd.DataFrame, pd.Series]]:
    """The breast-cancer features and labels."""
    return _cancer


@pytest.fixture
def fitted() -> Callable[..., LogisticRegression]:
    """The fitted logistic regression that ``register`` registers (the same options: the
    same model), to compare a server's answers with."""
    return _fitted


@pytest.fixture
def register() -> Callable[..., int]:
    """Registers a logistic regression as ``name`` and points ``alias`` at it."""
    return _register


@pytest.fixture
def start() -> Callable[..., BackgroundServer]:
    """Starts a model server in the background for a model reference."""
    return _start


@pytest.fixture
def v2_body() -> Callable[[pd.DataFrame], dict[str, Any]]:
    """Makes a V2 JSON request with one FP64 tensor per column."""
    return _v2_body


@pytest.fixture
def serve_command(
    sqlite_settings: Settings, warm_python: WarmPython
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Runs `shipyard serve ...` as its own process on the test's SQLite home (``python -m
    shipyard``, the console script's function, in a child of the warm interpreter); it must
    end within ``timeout`` seconds (TimeoutExpired otherwise)."""

    def run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "SHIPYARD_HOME": str(sqlite_settings.home)}
        argv = ["-m", "shipyard", "serve", *args, "--log-level", "warning"]
        return warm_python.run(argv, cwd=sqlite_settings.home.parent, env=env, timeout=timeout)

    return run
