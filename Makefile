# warnlink: one Makefile for people and CI.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo serve web-assets chromium test check fmt lint typecheck bench bench-accuracy accuracy-doc clean venv fuzz faults

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/warnlink demo

# The display's front-end assets (Leaflet, Natural Earth outlines), pinned by
# web/package-lock.json, copied and converted into the package's static folder.
ASSETS := src/warnlink/web/static/vendor/leaflet.js
$(ASSETS): web/package-lock.json web/build.mjs
	@if command -v npm >/dev/null; then \
		cd web && npm ci --no-audit --no-fund --loglevel=error && node build.mjs; \
	else echo "npm not found: the display has no map assets and its browser tests skip"; fi

web-assets: $(ASSETS)

# Every party's live display while the default scenario plays (Ctrl-C stops).
serve: $(STAMP) $(ASSETS)
	$(BIN)/warnlink demo --serve

# Debian's Chromium for the browser tests, where apt-get can install it (root or sudo,
# non-interactive); otherwise those tests skip and say why.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif ! command -v apt-get >/dev/null; then echo "no apt-get: browser tests will skip"; \
	elif [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
			>/dev/null || echo "chromium did not install: browser tests will skip"; \
	elif sudo -n true 2>/dev/null; then \
		(sudo -n apt-get update -qq && sudo -n DEBIAN_FRONTEND=noninteractive apt-get install \
			-y -qq chromium) >/dev/null || echo "chromium did not install: browser tests will skip"; \
	else echo "not root and no sudo: browser tests will skip"; fi

test: $(STAMP) $(ASSETS) chromium
	$(BIN)/python -m pytest

# Every decoder fuzzed long: FUZZ_EXAMPLES examples per target (make test runs a few
# hundred); the examples and outcomes per target are printed at the end.
# Then, if atheris is installed (pip install atheris), ATHERIS_RUNS coverage-guided runs
# per decoder.
FUZZ_EXAMPLES ?= 20000
ATHERIS_RUNS ?= 200000
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -m fuzz tests/fuzz
	@if $(BIN)/python -c "import atheris" 2>/dev/null; then \
	  for target in decode.msgpack decode.json federation keyset; do \
	    echo "atheris $$target: $(ATHERIS_RUNS) runs"; \
	    log=$$(mktemp); \
	    $(BIN)/python tests/fuzz/atheris_harness.py $$target -runs=$(ATHERIS_RUNS) >$$log 2>&1 \
	      || { cat $$log; rm -f $$log; exit 1; }; \
	    tail -1 $$log; rm -f $$log; \
	  done; \
	else echo "atheris not installed (pip install atheris): coverage-guided runs skipped"; fi

# The speed benchmarks: every figure beside its reference measured in the same run, a
# table on the terminal and bench/results.json (docs/performance.md). BENCH_FLAGS=--quick
# for the short run. Installs the optional Stone Soup reference (the bench extra).
BENCH_FLAGS ?=
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/warnlink bench $(BENCH_FLAGS) --out bench/results.json
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

# The fault suite at full size, against real processes (servers, relay processes, a TCP
# proxy): the table of docs/reliability.md. The quick sizes run in make test
# (tests/integration/test_faults.py); FAULTS_ARGS adds options (--case N, --json).
FAULTS_ARGS ?=
faults: $(STAMP)
	$(BIN)/warnlink faults $(FAULTS_ARGS)

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info web/node_modules src/warnlink/web/static/vendor
