"""LeRobot policy plugins of this project, registered with LeRobot's config registry on `register()`.

LeRobot resolves a policy type through its draccus registry and imports `modeling_<type>` / `processor_<type>`
next to the registered config module (lerobot/policies/factory.py, `_get_policy_cls_from_policy_name`), so a
plugin is a package with those three modules. Registering is importing the configuration module.
"""

PLUGINS = ("srpo.policies.chunk_mlp.configuration_chunk_mlp",)


def register() -> None:
    """Make this project's policy types known to LeRobot's factory (idempotent)."""
    import importlib

    for module in PLUGINS:
        importlib.import_module(module)
