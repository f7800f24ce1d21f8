"""`srpo bench ...`: the benchmarks, one command each, defined next to what they measure.

  offline  uniform / filtered BC against AWR with SRPO and oracle progress on the simulated xArm
           (srpo_offline.offline_bench)
  online   online SRPO vs GRPO vs an oracle reward on the simulated xArm (srpo_online_sim.sim_bench)
"""

from srpo_offline.offline_bench import bench_offline
from srpo_online_sim.bench_cli import online

COMMANDS = {"offline": bench_offline, "online": online}
