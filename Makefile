# The two commands of the README. Each runs the idempotent set-up first.
.PHONY: demo test setup lint bench

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/vuonso demo

test: setup
	.venv/bin/python -m pytest $(PYTEST_ARGS)

lint:
	.venv/bin/ruff check src tests bench
	.venv/bin/mypy

bench: setup
	.venv/bin/python bench/ingest.py
	.venv/bin/python bench/gis.py
