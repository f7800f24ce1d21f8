"""Online SRPO on LIBERO: environments, the OpenVLA* policy, the GRPO-style trainer and the evaluation protocol."""
