# The two commands a newcomer needs: `make demo` (set up + the main job) and `make test` (set up + tests).
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
VENV := .venv/bin
PYTEST_ARGS ?=

.PHONY: setup demo test bench lint ros
setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/srpo demo

test: setup
	$(VENV)/python -m pytest -n 2 --timeout 900 $(PYTEST_ARGS)

# The quicker benchmarks (a few minutes each); numbers and the rest (reward: ~20 min) are in docs/*.md.
bench: setup
	$(VENV)/python benchmarks/store_write.py --variants lz4:5 --steps 150
	$(VENV)/python benchmarks/recorder_loop.py --seconds 10 --cores 2
	PYTHONPATH=. $(VENV)/python benchmarks/awr_step.py --policy act --steps 30
	PYTHONPATH=. $(VENV)/python benchmarks/libero_train_step.py --envs 2 --n-rollouts 2 --max-steps 32

lint: setup
	$(VENV)/ruff check .

# The ROS 2 workspace against .venv (needs ROS 2 Jazzy from apt; docs/robot.md "ROS 2"). Installs no ROS.
ros: setup
	@bash scripts/build_ros.sh
