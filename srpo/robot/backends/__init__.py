"""One module per robot backend; each registers its `BackendConfig` subclass (listed in srpo.robot.rig)."""
