"""Online SRPO / GRPO: one trainer over an environment protocol and a policy protocol (protocols.py), with two
worlds — LIBERO + OpenVLA* (envs.py, openvla/) and the simulated xArm + an MLP (xarm_sim.py, mlp_policy.py) —,
the LIBERO evaluation protocol and the sim benchmark (`srpo bench online`)."""
