"""Headless rendering defaults, set by the package itself so every command works with or without `make`.

MuJoCo picks its OpenGL backend from MUJOCO_GL when `mujoco` is first imported, and PyOpenGL from
PYOPENGL_PLATFORM when OpenGL is first imported (robosuite reads both too); after that they cannot change.
`set_rendering_defaults()` must therefore run before MuJoCo or robosuite load: srpo.robot.sim,
srpo.robot.fake_xarm, calibration.sim_rig and srpo_online_sim.libero_setup call it at import. A user's own MUJOCO_GL is kept.
"""

import os

from srpo.errors import UserFacingError

_chosen: str | None = None


def _context_opens(backend: str) -> bool:
    """Whether an offscreen context of `backend` can be created (imports mujoco's GL module for it)."""
    try:
        if backend == "egl":
            from mujoco.egl import GLContext
        else:
            from mujoco.osmesa import GLContext
        ctx = GLContext(16, 16)
        ctx.make_current()
        ctx.free()
        return True
    except Exception:  # noqa: BLE001 - any failure to open a context means: try the next backend
        return False


def set_rendering_defaults() -> str:
    """Keep a user's MUJOCO_GL; otherwise EGL when a context opens, else OSMesa. Returns the backend."""
    global _chosen
    if os.environ.get("MUJOCO_GL"):
        os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
        return os.environ["MUJOCO_GL"]
    if _chosen is not None:
        return _chosen
    for backend in ("egl", "osmesa"):
        os.environ["MUJOCO_GL"] = backend
        os.environ["PYOPENGL_PLATFORM"] = backend
        if _context_opens(backend):
            _chosen = backend
            return backend
    del os.environ["MUJOCO_GL"], os.environ["PYOPENGL_PLATFORM"]
    raise UserFacingError(
        "no headless OpenGL: install EGL (apt install libegl1 libgl1-mesa-dri) or OSMesa (apt install libosmesa6)"
    )
