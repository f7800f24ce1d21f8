"""A loopback xArm 7 controller for tests and dry runs: the SDK's TCP protocol over the MuJoCo xArm 7."""
