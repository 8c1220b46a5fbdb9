# hubsim: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint typecheck bench app-screenshot clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

## make run: set up, run the bundled Himachal baseline, say where results and plot are
run: $(STAMP)
	$(BIN)/hubsim run scenarios/himachal-baseline.yaml -n 5 --out results/himachal-baseline

## make test: set up (Debian's Chromium too, for the browser test), lint and type-check, then
## the whole suite (slow statistical checks included)
test: $(STAMP)
	bash .ci/chromium
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/mypy sim
	$(BIN)/python -m pytest -q

## make test-fast: skip the slow statistical checks
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

## make bench: the benchmark suite (several minutes); writes benchmarks/RESULTS.md
bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python -m benchmarks.run

## make app-screenshot: run the browser test of the app and keep its screenshot as
## docs/app.png (the README's picture); other test runs leave docs/ alone
app-screenshot: $(STAMP)
	bash .ci/chromium
	HUBSIM_REFRESH_SCREENSHOT=1 $(BIN)/python -m pytest -q tests/test_app.py -k edit_run_download

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy sim

clean:
	rm -rf $(VENV) results .pytest_cache .mypy_cache .ruff_cache
