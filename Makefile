# Two commands set everything up on a fresh machine:
#   make run    install, fetch and verify the default model, build the index, open the chat UI
#   make test   the same installs, then the whole test suite
# Each step is skipped when already done.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MODEL  ?= qwen2.5-coder-1.5b

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: test-fast run test install models test-models browser-deps ocr-deps index ui eval bench lint clean \
        bundle install-offline

run: install models ocr-deps index
	@echo "== opening the chat UI at http://127.0.0.1:7860 (Ctrl-C stops it)"
	$(BIN)/assistant ui

install: $(STAMP)

$(BIN)/python:
	@echo "== creating $(VENV)"
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "== installing torch 2.13.0 (CPU build) first, so nothing pulls the CUDA build"
	$(BIN)/pip install --progress-bar on torch==2.13.0
	@echo "== installing the assistant and its pinned dependencies"
	@echo "   (llama-cpp-python compiles llama.cpp the first time: about 5 minutes on 2 cores)"
	$(BIN)/pip install --progress-bar on -e '.[test]'
	@touch $(STAMP)

models: install
	@echo "== fetching and verifying the model $(MODEL)"
	$(BIN)/assistant models fetch $(MODEL)

test-models: install
	@echo "== fetching and verifying the models the tests use"
	$(BIN)/assistant models fetch smollm2-135m qwen2.5-coder-0.5b qwen2.5-coder-1.5b

index: install
	@echo "== indexing the documents in corpus/"
	$(BIN)/assistant index

ui: install
	$(BIN)/assistant ui

# The evaluation harness on eval/gold.jsonl; a report lands in eval/reports/<timestamp>/.
# EVAL_ARGS passes options, e.g. make eval EVAL_ARGS="--limit 10 --judge fast".
eval: install models index
	$(BIN)/assistant eval $(EVAL_ARGS)

# The benchmark against bare llama.cpp and a textbook LangChain pipeline (about 10 minutes
# on 2 cores, 14 with --sweep); a report lands in eval/reports/bench-<timestamp>/. BENCH_ARGS:
# e.g. make bench BENCH_ARGS="--sweep" or BENCH_ARGS="--only retrieval --sizes 100000".
bench: $(VENV)/.bench-installed models index
	$(BIN)/assistant bench $(BENCH_ARGS)

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install --progress-bar on -e '.[test,bench]'
	@touch $@

# One folder under dist/ to carry to a machine with no network (README: "Installing on a
# machine with no network"): every wheel, the model(s), the corpus, install.sh, a MANIFEST.
# BUNDLE_MODELS=a,b carries those catalogue models (default: MODEL); BUNDLE_INDEX=1 the
# built index; UPDATE_FROM=<earlier bundle's folder or MANIFEST> only what changed since.
BUNDLE_MODELS ?= $(MODEL)
bundle: install
	$(BIN)/assistant bundle --models "$(BUNDLE_MODELS)" \
	  $(if $(filter 1,$(BUNDLE_INDEX)),--with-index) \
	  $(if $(UPDATE_FROM),--update-from "$(UPDATE_FROM)")

# Install (or update) from a bundle on this machine, with no network: make install-offline
# BUNDLE=dist/policy-assistant-... TARGET=/opt/policy-assistant
install-offline:
	@test -n "$(BUNDLE)" || { echo "Give the bundle's folder: make install-offline BUNDLE=dist/... TARGET=..."; exit 2; }
	bash "$(BUNDLE)/install.sh" $(TARGET)

# The browser test drives Debian's chromium through Playwright (never `playwright install`).
browser-deps:
	@test -x /usr/bin/chromium || { echo "== installing chromium for the browser test"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

# Scanned PDF pages and images are read by Debian's tesseract (English language data).
ocr-deps:
	@command -v tesseract > /dev/null || { echo "== installing tesseract for OCR"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y tesseract-ocr; }

test: install test-models ocr-deps index browser-deps
	$(BIN)/python -m pytest -q --durations=15

test-fast: install ocr-deps
	$(BIN)/python -m pytest -q -m "not model and not browser"

lint: install
	$(BIN)/ruff format --check assistant tests
	$(BIN)/ruff check assistant tests
	$(BIN)/mypy assistant

clean:
	rm -rf index/builds index/CURRENT data test-output
