"""Robot components, importable without ROS: arm backends (xArm, simulated xArm), cameras, teleop, safety
filter, episode recorder and policy runner. Heavy libraries (MuJoCo, torch, LeRobot, the xArm SDK,
pyrealsense2) are imported by the modules that need them, never here."""
