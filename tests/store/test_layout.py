"""The on-disk layout is zarr format 2, read here with plain json/numcodecs/zarr calls, never the project reader."""

import json
import os
import subprocess

import numcodecs
import numpy as np
import pytest
import zarr


def test_zarr_format_2_layout_readable_without_the_project(make_store):
    store = make_store(lengths=(4, 6), successes=(True, False), depth=True)
    root = store.path
    assert json.loads((root / ".zgroup").read_text()) == {"zarr_format": 2}
    assert not (root / "zarr.json").exists()
    for group in ("data", "meta", "derived"):
        assert json.loads((root / group / ".zgroup").read_text())["zarr_format"] == 2
    attrs = json.loads((root / ".zattrs").read_text())
    assert attrs["schema_version"] == 1 and [c["name"] for c in attrs["cameras"]] == ["camera0", "camera1"]

    rgb_meta = json.loads((root / "data" / "camera0_rgb" / ".zarray").read_text())
    assert rgb_meta["zarr_format"] == 2
    assert rgb_meta["shape"] == [10, 24, 32, 3] and rgb_meta["chunks"] == [1, 24, 32, 3]
    assert rgb_meta["dtype"] == "|u1" and rgb_meta["compressor"]["id"] == "blosc"
    sep = rgb_meta.get("dimension_separator", ".")
    # frame 7 = episode 1, step 3: decode its chunk file by hand and compare with the zarr read
    raw = (root / "data" / "camera0_rgb" / sep.join(["7", "0", "0", "0"])).read_bytes()
    frame = np.frombuffer(numcodecs.get_codec(rgb_meta["compressor"]).decode(raw), dtype=np.uint8)
    np.testing.assert_array_equal(frame.reshape(24, 32, 3), store.episode(1, keys=["camera0_rgb"])["camera0_rgb"][3])

    depth_meta = json.loads((root / "data" / "camera0_depth" / ".zarray").read_text())
    assert depth_meta["dtype"] == "<u2" and depth_meta["shape"] == [10, 24, 32]
    ends_meta = json.loads((root / "meta" / "episode_ends" / ".zarray").read_text())
    assert ends_meta["dtype"] == "<i8"
    ends_raw = (root / "meta" / "episode_ends" / "0").read_bytes()
    codec = numcodecs.get_codec(ends_meta["compressor"]) if ends_meta["compressor"] else None
    decoded = np.frombuffer(codec.decode(ends_raw) if codec else ends_raw, dtype="<i8")
    assert decoded[:2].tolist() == [4, 10]

    # plain zarr (no project code) sees the same arrays, in zarr-python 2's layout
    group = zarr.open_group(str(root), mode="r", zarr_format=2)
    assert group["meta/episode_ends"][:].tolist() == [4, 10]
    assert group["meta/success"][:].tolist() == [1, 0]
    assert group["data/action"].shape == (10, 7) and group["data/action"].dtype == np.float32
    np.testing.assert_array_equal(group["data/robot0_joint_pos"][4:10], store.episode(1)["robot0_joint_pos"])


ZARR2_PYTHON = os.environ.get("SRPO_ZARR2_PYTHON")  # a Python with zarr-python 2 (e.g. zarr==2.18.3) installed


@pytest.mark.skipif(not ZARR2_PYTHON, reason="set SRPO_ZARR2_PYTHON to a Python with zarr-python 2 to run it")
def test_zarr_python_2_reads_the_store(make_store, tmp_path):
    store = make_store(lengths=(4, 6), successes=(True, False), depth=True)
    np.save(tmp_path / "rgb.npy", store.episode(1)["camera0_rgb"])
    np.save(tmp_path / "depth.npy", store.episode(1)["camera0_depth"])
    script = f"""
import numpy as np, zarr
assert zarr.__version__.startswith("2."), zarr.__version__
root = zarr.open({str(store.path)!r}, mode="r")
assert root["meta/episode_ends"][:].tolist() == [4, 10]
np.testing.assert_array_equal(root["data/camera0_rgb"][4:10], np.load({str(tmp_path / "rgb.npy")!r}))
np.testing.assert_array_equal(root["data/camera0_depth"][4:10], np.load({str(tmp_path / "depth.npy")!r}))
"""
    subprocess.run([ZARR2_PYTHON, "-c", script], check=True)
