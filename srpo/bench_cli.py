"""`srpo bench ...`: the benchmarks, one command each, defined next to what they measure.

  online   online SRPO vs GRPO vs an oracle reward on the simulated xArm (srpo_online_sim.sim_bench)
"""

from srpo_online_sim.bench_cli import online

COMMANDS = {"online": online}
