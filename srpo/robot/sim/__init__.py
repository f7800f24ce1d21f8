"""The simulated xArm 7 (MuJoCo): scene, tasks and the Arm backend. Imports MuJoCo: import this lazily."""

from srpo.rendering import set_rendering_defaults

set_rendering_defaults()  # before any submodule imports mujoco
