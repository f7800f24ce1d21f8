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


def test_shard_plan_of_the_published_structure_fits_eight_80_gb_gpus():
    """Built on the meta device (no memory): 7.54 B parameters; unsharded, fp32 weights + gradients + AdamW's two
    states are 16 B each (about 121 GB); FSDP over k ranks holds about 1/k of every tensor's rows."""
    plan = {row["ranks"]: row for row in _module().shard_plan([1, 2, 8])}
    total = plan[1]["parameters_b"]
    assert 7.5 < total < 7.6 and plan[1]["weights_grads_adamw_gb"] == pytest.approx(16 * total, rel=1e-9)
    assert plan[1]["all_gathered_bf16_gb"] == 0
    for k in (2, 8):
        held = plan[k]["held_per_rank_b"]
        assert total / k <= held < total / k * 1.001  # padding of the last chunk only
        assert plan[k]["weights_grads_adamw_gb"] == pytest.approx(16 * held, rel=1e-9)
        # bf16 units all-gathered at once: the root (embeddings, projector, lm_head) and two decoder layers
        assert 1.0 < plan[k]["all_gathered_bf16_gb"] < 2.0
    assert plan[8]["total_before_activations_gb"] < 20  # leaves > 60 GB of an 80 GB GPU for activations
