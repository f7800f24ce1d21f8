"""The reward stage's Python API: one call writes the run with its provenance and clip flags, and training reads
exactly what was stored; a new encoder is one class plus one registry entry."""

import ast
from pathlib import Path

import numpy as np
import pytest

from srpo.errors import UserFacingError
from srpo.store import EpisodeStore
from srpo_offline import encoders
from srpo_offline.reward_run import RewardConfig, compute_reward_run


@pytest.fixture
def store(make_store):
    return make_store(lengths=(12, 15, 9, 10), successes=(True, False, True, False)).path


def test_compute_reward_run_stores_clip_flags_that_training_reads_back(store):
    from srpo_offline.awr.weighting import reward_run_weights

    run = compute_reward_run(RewardConfig(store=str(store), encoder="pixel", camera="camera1", w_max=1.5,
                                          run_name="px"))
    assert run.name == "px" and run.provenance["w_max"] == 1.5 and run.provenance["encoder"] == "pixel"
    arrays, attrs = EpisodeStore.open(store).read_derived("px")
    assert attrs["provenance"] == run.provenance
    clipped = arrays["clipped"] > 0
    assert 0 < clipped.sum() < len(clipped)  # some steps hit the clip, not all
    np.testing.assert_array_equal(clipped, arrays["weight"] == np.float32(1.5))
    np.testing.assert_allclose(arrays["weight"][~clipped], np.exp(arrays["advantage"][~clipped]), rtol=1e-5)

    table, how = reward_run_weights(EpisodeStore.open(store), "px", horizon=1)
    assert how["source"] == "stored"
    np.testing.assert_array_equal(table.weight, arrays["weight"])
    np.testing.assert_array_equal(table.clipped, clipped)
    # another beta recomputes from the stored advantages with the same definition of the weight
    table2, how2 = reward_run_weights(EpisodeStore.open(store), "px", horizon=1, beta=2.0)
    assert how2 == {"source": "recomputed from advantage", "beta": 2.0, "w_max": 1.5}
    np.testing.assert_allclose(table2.weight, np.minimum(np.exp(arrays["advantage"] / 2.0), 1.5), rtol=1e-5)


def test_stored_weights_are_used_as_written(store):
    """Training does not re-derive the weights or the clip flags from the values it finds."""
    from srpo_offline.awr.weighting import reward_run_weights

    s = EpisodeStore.open(store, mode="a")
    n = s.num_steps
    weight = np.linspace(0.1, 3.0, n).astype(np.float32)
    clipped = (np.arange(n) % 7 == 0).astype(np.float32)
    s.write_derived("hand", {"advantage": np.zeros(n, np.float32), "weight": weight, "clipped": clipped},
                    {"beta": 1.0, "w_max": 3.0})
    table, _ = reward_run_weights(EpisodeStore.open(store), "hand", horizon=4)
    np.testing.assert_array_equal(table.weight, weight)
    np.testing.assert_array_equal(table.clipped, clipped > 0)


class ConstantEncoder:
    """Test double registered by the test: embeds a video as its mean grey level and its length."""

    name = "constant"
    default_model = None
    camera = "camera0"
    model_id = "constant-double"

    @classmethod
    def build(cls, model=None, device="cpu", batch_size=None, num_frames=None):
        return cls()

    def encode(self, videos):
        return np.array([[v.mean() / 255.0, len(v) / 10.0] for v in videos])


def test_a_registered_encoder_is_usable_by_name(store, monkeypatch):
    with pytest.raises(UserFacingError, match="unknown encoder 'constant'"):
        compute_reward_run(RewardConfig(store=str(store), encoder="constant"))
    monkeypatch.setitem(encoders.ENCODERS, "constant", ConstantEncoder)
    run = compute_reward_run(RewardConfig(store=str(store), encoder="constant"))
    assert run.name == "srpo_constant" and run.provenance["model"] == "constant-double"
    progress = EpisodeStore.open(store).read_derived("srpo_constant")[0]["progress"]
    assert np.isfinite(progress).all() and progress.max() > 0


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_arrows_run_one_way():
    root = Path(__file__).resolve().parents[2]
    assert "srpo_offline.progress" not in _imports(root / "srpo_offline/advantages.py")
    for path in (root / "srpo").rglob("*.py"):
        # the CLI layer (its lazy registry, and `srpo bench`, which sits above every stage) names the groups
        if path.name not in ("cli.py", "bench_cli.py") or path.parent.name != "srpo":
            offenders = {m for m in _imports(path) if m.split(".")[0] == "srpo_offline"}
            assert not offenders, f"{path} imports {offenders}: the core must not import the training package"
