"""A loopback xArm 7 controller for tests and dry runs: the SDK's TCP protocol over the MuJoCo xArm 7."""

from srpo.rendering import set_rendering_defaults

set_rendering_defaults()  # before controller.py imports mujoco (srpo robot record imports this package too)
