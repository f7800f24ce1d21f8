"""`srpo bench`: the measured comparisons that back the project's claims (reports with seeds and intervals)."""

from srpo_offline.offline_bench import bench_offline

COMMANDS = {"offline": bench_offline}
