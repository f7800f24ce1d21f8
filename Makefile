# The two commands a newcomer needs: `make demo` (set up + the main job) and `make test` (set up + tests).
export MUJOCO_GL ?= egl
export PYOPENGL_PLATFORM ?= egl
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
VENV := .venv/bin
PYTEST_ARGS ?=

.PHONY: setup demo test bench lint
setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/srpo demo

test: setup
	$(VENV)/python -m pytest -n 2 --timeout 900 $(PYTEST_ARGS)

bench: setup
	$(VENV)/python benchmarks/store_write.py

lint: setup
	$(VENV)/ruff check .
