"""The simulated xArm 7 (MuJoCo): scene, tasks and the Arm backend. Imports MuJoCo: import this lazily."""
