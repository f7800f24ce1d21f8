"""`srpo demo`: the offline benchmark at a size that runs in about 10 minutes on 2 CPU cores.

Three seeds (two at a time, one core each), each recording its own mixed-quality data on the simulated xArm
(`place`, where dense progress beats a success label), scoring it with SRPO world progress (`--encoder`: the
learned encoder fitted on the seed's own frames and labels by default; auto, state, pixel, ...) and oracle progress,
training uniform BC, filtered BC, AWR-SRPO and AWR-oracle on it (shaped advantages: SRPO's trajectory reward at
the end, progress as shaping), and deploying all four on the same initial states; it ends by saying which method
won and by how much, or that the evidence is inconclusive (`srpo_offline.offline_bench`; the full comparison:
`srpo bench offline`).
"""

from dataclasses import dataclass

from srpo_offline.offline_bench import OfflineBenchConfig, run_offline_bench


@dataclass(frozen=True)
class DemoConfig(OfflineBenchConfig):
    """The offline benchmark, reduced: 3 seeds, four methods, no clean-data bar (OUT/report.md)."""

    out: str = "outputs/demo"  # run directory: stores, checkpoints, results.jsonl, report.md, figures
    seeds: tuple[int, ...] = (0, 1, 2)  # each seed records its own data, trains every method, evaluates
    methods: tuple[str, ...] = ("uniform", "filtered", "awr_srpo", "awr_oracle")  # see srpo_offline.offline_bench.METHODS
    clean_tasks: tuple[str, ...] = ()  # tasks of the clean-data bar; () skips it (`srpo bench offline` runs it)


def demo(config: DemoConfig) -> int:
    """the offline benchmark, reduced (~10 min on 2 CPU cores): who wins, AWR-SRPO or BC, and by how much"""
    run_offline_bench(config)
    return 0


COMMAND = demo
