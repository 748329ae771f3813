# warnlink: one Makefile for people and CI.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check fmt lint typecheck bench bench-accuracy accuracy-doc clean venv fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/warnlink demo

test: $(STAMP)
	$(BIN)/python -m pytest

# Every decoder fuzzed long: FUZZ_EXAMPLES examples per target (make test runs a few
# hundred); the examples and outcomes per target are printed at the end.
FUZZ_EXAMPLES ?= 20000
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -m fuzz tests/fuzz

bench: $(STAMP)
	$(BIN)/python bench/bench_physics.py
	$(BIN)/python bench/bench_radar_tracker.py
	$(BIN)/python bench/bench_signing.py
	$(BIN)/python bench/bus_throughput.py
	$(BIN)/python bench/nats_latency.py
	@echo "accuracy against truth and Stone Soup: make bench-accuracy (SEEDS=$(SEEDS))"

# Every scenario over SEEDS seeds; the JSON goes to bench/accuracy.json (gitignored), the
# table to the terminal. Installs the optional Stone Soup reference (the bench extra).
SEEDS ?= 3
bench-accuracy: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/warnlink bench accuracy --seeds $(SEEDS) --out bench/accuracy.json

# The same, and the table rewritten into docs/accuracy.md's generated block.
accuracy-doc: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/warnlink bench accuracy --seeds $(SEEDS) --out bench/accuracy.json --doc docs/accuracy.md

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
