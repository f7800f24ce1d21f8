"""Robot-area fixtures: a tiny random LeRobot ACT checkpoint (real classes, no downloads), the fake xArm controller,
real rclpy (the ros-jazzy wheels of the `ros` extra) and the launch/launch_ros double."""

import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from srpo.robot.arm import ACTION_DIM

# ROS 2 discovery stays on this machine's loopback, and each test process (a pytest-xdist worker, another
# engineer's run) gets a DDS domain of its own, so nodes of parallel runs never see each other. rcl reads both
# at rclpy.init; children (a fake controller, a node process) inherit them.
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ["ROS_DOMAIN_ID"] = str(1 + os.getpid() % 101)  # 0-101: clear of the ephemeral ports on Linux
PKG = Path(__file__).resolve().parents[2] / "robot_ws" / "src" / "srpo_ros"


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


class Ros:
    """Real rclpy for one test: init(...) with the node parameters, spin_until(...), shut down at the end."""

    def __init__(self):
        import rclpy

        self.rclpy = rclpy
        self.nodes: list = []

    def init(self, *args: str, **params) -> None:
        """rclpy.init with `args` (e.g. --params-file F) after --ros-args, and `-p name:=value` for `params`."""
        self.rclpy.try_shutdown()
        extra = [x for name, value in params.items() for x in ("-p", f"{name}:={value}")]
        self.rclpy.init(args=["--ros-args", *(a for a in args if a != "--ros-args"), *extra])

    def node(self, make):
        """A node built now, destroyed at the end of the test."""
        node = make()
        self.nodes.append(node)
        return node

    def spin_until(self, condition, timeout_s: float = 10.0, nodes=None) -> bool:
        """Spin `nodes` (default: this test's) at least once, then until condition() holds; False on timeout."""
        from rclpy.executors import SingleThreadedExecutor

        executor = SingleThreadedExecutor()
        for node in nodes or self.nodes:
            executor.add_node(node)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                executor.spin_once(timeout_sec=min(0.02, timeout_s))
                if condition():
                    return True
                if time.monotonic() > deadline:
                    return False
        finally:
            executor.shutdown(timeout_sec=0)
            for node in nodes or self.nodes:
                executor.remove_node(node)

    def client(self, name: str = "client"):
        """A plain node of this test's, to call services and publish or collect messages."""
        from rclpy.node import Node

        return self.node(lambda: Node(name))

    @staticmethod
    def collect(node, msg_type, topic: str, qos=100) -> list:
        """A list that every message on `topic` is appended to (while `node` spins)."""
        got: list = []
        node.create_subscription(msg_type, topic, got.append, qos)
        return got

    def call(self, node, srv_type, name: str, request=None, timeout_s: float = 20.0):
        """A real service call from `node`: wait until the service is there, send, spin until the answer."""
        client = node.create_client(srv_type, name)
        assert self.spin_until(client.service_is_ready, timeout_s), f"{name} never became available"
        future = client.call_async(request or srv_type.Request())
        assert self.spin_until(future.done, timeout_s), f"{name} did not answer"
        return future.result()

    def close(self) -> None:
        for node in reversed(self.nodes):
            node.destroy_node()
        self.rclpy.try_shutdown()


@pytest.fixture
def ros(monkeypatch):
    """Real rclpy with srpo_ros importable; every node made through it is destroyed and rclpy shut down after."""
    monkeypatch.syspath_prepend(str(PKG))
    helper = Ros()
    yield helper
    helper.close()


@pytest.fixture
def launch_double(monkeypatch):
    """The launch/launch_ros double (tests/robot/launch_double.py) installed, srpo_ros importable."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("launch_double", Path(__file__).parent / "launch_double.py")
    double = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "launch_double", double)
    spec.loader.exec_module(double)
    double.install(monkeypatch)
    monkeypatch.syspath_prepend(str(PKG))
    yield double


@pytest.fixture
def fake():
    """A fake xArm controller on a loopback address of its own (the report ports are fixed numbers), free command port."""
    from srpo.robot.fake_xarm.server import FakeXArm, FakeXArmConfig

    host = f"127.0.{random.randint(1, 250)}.{random.randint(1, 250)}"
    with FakeXArm(FakeXArmConfig(host=host, control_port=0)) as server:
        yield server


@pytest.fixture
def fake_process():
    """`srpo robot fake-xarm` in a process of its own (as a user runs it), on a loopback address of its own:
    yields (host, control port)."""
    import re
    import subprocess

    host = f"127.0.{random.randint(1, 250)}.{random.randint(1, 250)}"
    proc = subprocess.Popen([sys.executable, "-W", "ignore", "-m", "srpo.robot.fake_xarm.server", "--host", host,
                             "--control-port", "0", "--max-lifetime-s", "300"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        banner = proc.stdout.readline()
        port = re.search(r"control port (\d+)", banner)
        assert port, f"the fake controller did not start: {banner!r}"
        yield host, int(port.group(1))
    finally:
        proc.terminate()
        proc.wait(10)


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
