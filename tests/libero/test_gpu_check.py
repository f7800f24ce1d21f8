"""benchmarks/gpu_openvla_check.py: skips cleanly without a GPU; its measurement runs (tiny model, CPU)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_openvla_check.py"


def _module():
    spec = importlib.util.spec_from_file_location("gpu_openvla_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the check would run for real")
def test_without_a_gpu_it_says_skipped_and_exits_0():
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "skipped: no GPU (torch.cuda.is_available() is False)"


def test_measurement_on_the_tiny_model():
    from srpo_online_sim.openvla.loading import tiny_policy

    result = _module().measure(tiny_policy(), batch=2, repeats=1, update=True)
    assert result["batch"] == 2 and result["actions_finite"] and result["action_tokens_per_s"] > 0
    assert result["update_step_s"] > 0 and "update_error" not in result
