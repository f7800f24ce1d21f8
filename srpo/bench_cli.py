"""`srpo bench ...`: the benchmarks, one command each, defined next to what they measure.

  offline  uniform / filtered BC against AWR with SRPO and oracle progress on the simulated xArm
           (srpo_offline.offline_bench)
  online   online SRPO vs GRPO vs an oracle reward on the simulated xArm (srpo_online_sim.sim_bench)
"""

# "module:function", imported only when its command runs (or when `srpo bench --help` lists them)
COMMANDS = {"offline": "srpo_offline.offline_bench:bench_offline", "online": "srpo_online_sim.bench_cli:online"}
