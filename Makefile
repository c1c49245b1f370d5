# Developer shortcuts; each is one uv command, so nothing else needs installing.
.PHONY: demo test test-fast lint format bench

demo:        ## run the whole loop on bundled data
	uv run shipyard demo

test:        ## the full suite, as CI runs it (PostgreSQL/S3/Redis tests start their own servers)
	uv run --all-extras pytest -n 2

test-fast:   ## skip the slow tests
	uv run --all-extras pytest -n 2 -m "not slow"

lint:        ## ruff, mypy --strict and the import-layer contracts
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy
	uv run lint-imports

format:
	uv run ruff format .
	uv run ruff check --fix .

bench:       ## speed against the competitors (see bench/README.md)
	uv run --extra bench python bench/tracking.py
	uv run --extra bench python bench/pipelines.py
