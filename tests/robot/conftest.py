"""Robot-area fixtures: a tiny random LeRobot ACT checkpoint (real classes, no downloads), the fake xArm controller."""

import random

import numpy as np
import pytest

from srpo.robot.arm import ACTION_DIM


def save_tiny_act(path, image_shape=(3, 96, 128), cameras=("camera0", "camera1"), chunk=8) -> str:
    """A randomly initialised ACT with tiny dimensions, saved with its pre/post processors."""
    import torch
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.act.modeling_act import ACTPolicy
    from lerobot.policies.factory import make_pre_post_processors

    torch.manual_seed(0)
    state_dim = 11  # STATE_KEYS: joints 7 + eef pos 3 + gripper 1
    inputs = {"observation.state": PolicyFeature(FeatureType.STATE, (state_dim,))}
    for cam in cameras:
        inputs[f"observation.images.{cam}"] = PolicyFeature(FeatureType.VISUAL, image_shape)
    cfg = ACTConfig(
        input_features=inputs,
        output_features={"action": PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))},
        chunk_size=chunk, n_action_steps=chunk, dim_model=32, n_heads=2, dim_feedforward=64,
        n_encoder_layers=1, n_decoder_layers=1, use_vae=False, pretrained_backbone_weights=None, device="cpu",
    )
    policy = ACTPolicy(cfg)
    stats = {
        "observation.state": {"mean": torch.zeros(state_dim), "std": torch.ones(state_dim)},
        # action scale like the expert's: ~5 mm steps, gripper in [0, 1]
        "action": {"mean": torch.tensor([0, 0, 0, 0, 0, 0, 0.5]),
                   "std": torch.tensor([0.005, 0.005, 0.005, 0.01, 0.01, 0.01, 0.5])},
    }
    for cam in cameras:
        stats[f"observation.images.{cam}"] = {"mean": torch.full((3, 1, 1), 0.5), "std": torch.full((3, 1, 1), 0.25)}
    pre, post = make_pre_post_processors(cfg, dataset_stats=stats)
    policy.save_pretrained(path)
    pre.save_pretrained(path)
    post.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_act(tmp_path_factory) -> str:
    return save_tiny_act(tmp_path_factory.mktemp("tiny_act"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def ros(monkeypatch):
    """The rclpy / launch double (tests/robot/rclpy_double.py) installed, srpo_ros importable; yields the double."""
    import importlib.util
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    spec = importlib.util.spec_from_file_location("rclpy_double", here / "rclpy_double.py")
    double = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "rclpy_double", double)
    spec.loader.exec_module(double)
    double.install(monkeypatch)
    monkeypatch.syspath_prepend(str(here.parents[1] / "robot_ws" / "src" / "srpo_ros"))
    yield double


@pytest.fixture
def fake():
    """A fake xArm controller on a loopback address of its own (the report ports are fixed numbers), free command port."""
    from srpo.robot.fake_xarm.server import FakeXArm, FakeXArmConfig

    host = f"127.0.{random.randint(1, 250)}.{random.randint(1, 250)}"
    with FakeXArm(FakeXArmConfig(host=host, control_port=0)) as server:
        yield server


@pytest.fixture
def video(tmp_path):
    """A 4-second 96x128 MJPEG video whose frame i is filled with 2i (a stand-in for a camera feed)."""
    import cv2

    path = tmp_path / "feed.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (128, 96))
    for i in range(120):
        writer.write(np.full((96, 128, 3), i * 2, np.uint8))
    writer.release()
    return str(path)
