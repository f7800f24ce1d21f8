"""`srpo bench offline`: does AWR with self-referential progress beat imitation of everything, on the same data?

For each seed, on the simulated xArm (every stage through the project's Python API):
  record   a mixed-quality dataset: the clean expert and sloppy operators with systematic habits
           (`srpo.robot.teleop.OPERATOR_PROFILES`), labelled by the sim's success predicate
  score    SRPO world progress (`compute_reward_run`), oracle progress from simulator state
           (`compute_oracle_run`), the episode's success as a trajectory-level reward; advantages by the
           chosen estimator (`srpo_offline.advantages.ESTIMATORS`)
  train    one small state policy (`chunk_mlp`, a LeRobot plugin) per method, same data, steps and seed
  deploy   every method of the seed on the same initial states, so outcomes pair episode by episode
Then the report: success per method with 95 % Wilson intervals (per seed, pooled), paired differences against
uniform BC (McNemar exact test, paired bootstrap interval, sign test over seeds), the sanity conditions
(a) filtered BC beats uniform BC: the data can hurt; (b) AWR-oracle beats uniform BC: training responds to
weights, the fidelity of SRPO progress against the oracle, and the clean-data bar (uniform BC on clean expert
data reaches 80 % of the expert's own success rate).

Methods (`METHODS`): uniform, filtered (BC on successes), awr_srpo, awr_oracle, awr_success. A method may name
its estimator, e.g. `awr_srpo@paper` (the paper's one-step increment) or `awr_oracle@gae`; without one it uses
`--estimator`; `awr_srpo:ENCODER` takes its progress from another encoder than `--encoder` (e.g. `awr_srpo:state`,
the control on privileged state, or `awr_srpo:pixel`), so one run compares encoders on the same data. Results are appended to OUT/results.jsonl as each cell finishes; a rerun skips finished cells.
"""

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from srpo.errors import UserFacingError
from srpo_offline.advantages import DEFAULT_BETA, DEFAULT_W_MAX, ESTIMATORS

MAX_STEPS = {"lift": 150, "place": 250}  # control ticks per episode at most: the expert needs ~60 / ~140
STATE_ONLY_ENV = {"lift": ("object0_pos", "object0_quat"), "place": ("object0_pos", "object0_quat", "target0_pos")}
DEFAULT_MIX = "expert:0.4,early_release:0.3,overshoot:0.3"  # uniform BC measurably below filtered BC (docs/offline_bench.md)


@dataclass(frozen=True)
class Method:
    """How one method trains on the shared data."""

    weighting: str  # awr or uniform (srpo_offline.awr.TrainConfig.weighting)
    success_only: bool = False  # train on successful episodes only (filtered BC)
    reward: str | None = None  # which progress the AWR weights come from: srpo, oracle or success
    estimator: str | None = None  # this method's own default estimator (None: --estimator)
    encoder: str | None = None  # awr_srpo:ENCODER: the encoder of its progress (None: --encoder)


METHODS = {
    "uniform": Method("uniform"),  # behaviour cloning of everything
    "filtered": Method("uniform", success_only=True),  # behaviour cloning of the successes
    "awr_srpo": Method("awr", reward="srpo"),  # AWR, SRPO world progress (the method under test)
    "awr_oracle": Method("awr", reward="oracle"),  # AWR, progress from simulator state: the upper bound
    "awr_success": Method("awr", reward="success", estimator="final"),  # AWR, trajectory-level success: A from the label
}


def parse_method(spec: str, default_estimator: str) -> tuple[Method, str | None]:
    """"awr_srpo@paper" -> (METHODS["awr_srpo"], "paper"); BC methods have no estimator (None).
    "awr_srpo:state@gae": AWR-SRPO with progress from the named encoder (reward run srpo-state) instead of --encoder."""
    head, _, estimator = spec.partition("@")
    name, _, encoder = head.partition(":")
    if name not in METHODS:
        raise UserFacingError(f"unknown method {spec!r}; use {', '.join(METHODS)} (AWR ones may add @ESTIMATOR)")
    method = METHODS[name]
    if encoder:
        from srpo_offline.encoders import ENCODERS

        if method.reward != "srpo" or encoder not in ENCODERS:
            raise UserFacingError(f"{spec!r}: only awr_srpo takes an encoder, one of {', '.join(ENCODERS)} "
                                  "(e.g. awr_srpo:state)")
        method = replace(method, reward=f"srpo-{encoder}", encoder=encoder)
    if method.reward is None:
        if estimator:
            raise UserFacingError(f"{name} has no advantages: drop @{estimator}")
        return method, None
    estimator = estimator or method.estimator or default_estimator
    if estimator not in ESTIMATORS:
        raise UserFacingError(f"unknown estimator {estimator!r} in {spec!r}; use one of {', '.join(ESTIMATORS)}")
    return method, estimator


@dataclass(frozen=True)
class OfflineBenchConfig:
    """Offline benchmark on the simulated xArm: uniform BC, filtered BC, AWR with SRPO progress and AWR with
    oracle progress, trained on the same mixed-quality data with the same budget and seeds, evaluated on the
    same initial states; writes OUT/report.md (tables, paired tests, sanity checks, reward fidelity, plots)."""

    out: str = "outputs/bench_offline"  # run directory: stores, checkpoints, results.jsonl, report.md, figures
    task: str = "place"  # simulated xArm task: lift or place (place: where dense progress beats a label, docs/offline_bench.md)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # each seed records its own data, trains every method, evaluates
    episodes: int = 60  # recorded episodes per seed
    operator: str = DEFAULT_MIX  # operator mix of the recordings (srpo robot record --operator)
    expert_noise: float = 1.0  # scripted operators' random error scale on top of their habits
    methods: tuple[str, ...] = ("uniform", "filtered", "awr_srpo", "awr_oracle", "awr_success")  # see METHODS; NAME@ESTIMATOR picks an estimator
    estimator: str = "shaped"  # advantage estimator of AWR methods without @ (measured best on place: docs/offline_bench.md): paper, n_step, to_go, gae, final, shaped
    beta: float = DEFAULT_BETA  # AWR temperature
    w_max: float = DEFAULT_W_MAX  # AWR weight clip
    encoder: str = "learned"  # SRPO progress encoder: a name, or auto (V-JEPA 2 where its weights are, else pixel)
    model: str | None = None  # encoder weights: hub id or local directory
    reward_camera: str = "auto"  # camera scored by SRPO: auto (the encoder's own), front / wrist, or a store camera
    stride: int = 2  # encode every stride-th prefix (interpolate between)
    fit_steps: int = 400  # updates of a fitted encoder (learned, state), fitted on each seed's own training store
    train_steps: int = 1000  # optimiser updates per training run
    batch_size: int = 64  # samples per update
    policy_options: tuple[str, ...] = ("chunk_size=10", "n_action_steps=10")  # chunk_mlp config overrides KEY=VALUE
    eval_episodes: int = 20  # deployment episodes per trained policy
    clean_tasks: tuple[str, ...] = ("lift", "place")  # tasks of the clean-data bar; the flag alone (no tasks) skips it
    clean_episodes: int = 30  # clean expert episodes the bar trains on
    clean_noise: float = 0.5  # the clean expert's noise (small hand errors, no bad habits)
    torch_threads: int = 1  # torch CPU threads: a small MLP runs fastest on one
    device: str = "cpu"  # torch device for encoding, training and deployment
    plots: bool = True  # write the figures
    workers: int = 2  # seeds run in parallel processes, one core each at torch_threads 1 (1: in this process)


def bench_encoder(config: OfflineBenchConfig):
    """The benchmark's `srpo_offline.encoders.choose_encoder` pick, with the camera named as the store names it."""
    from srpo_offline.encoders import choose_encoder, store_camera

    choice = choose_encoder(config.encoder, config.model, config.reward_camera)
    return choice._replace(camera=store_camera(choice.camera))


@dataclass
class Cell:
    """One trained-and-evaluated policy."""

    task: str
    seed: int
    method: str
    outcomes: list[bool]  # per evaluation episode, in the order of the shared initial states
    train_seconds: float
    eval_seconds: float
    ess_fraction: float = 1.0  # effective sample size of the weights / samples
    extra: dict = field(default_factory=dict)


def _stage(text: str) -> float:
    print(f"\n=== {text} ===", flush=True)
    return time.perf_counter()


def _load_cells(path: Path) -> list[Cell]:
    if not path.exists():
        return []
    return [Cell(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def record_seed_store(cfg: OfflineBenchConfig, task: str, seed: int, path: Path, operator: str, noise: float,
                      episodes: int) -> Path:
    """Record (once) the seed's dataset; a finished recording is reused, a partial one replaced."""
    import shutil

    from srpo.robot.runner import RecordConfig, record_episodes
    from srpo.store import EpisodeStore

    done = path.parent / (path.name + ".done")
    if done.exists():
        return path
    if path.exists():
        shutil.rmtree(path)
    record_episodes(RecordConfig(backend="sim", task=task, episodes=episodes, out=str(path),
                                 max_steps=MAX_STEPS[task], expert_noise=noise, operator=operator, seed=seed),
                    progress=False)
    eps = EpisodeStore.open(path).episodes()
    print(f"{len(eps)} episodes, {sum(e.success is True for e in eps)} successful", flush=True)
    done.write_text("")
    return path


def success_progress_run(store_path, name: str, estimator: str, beta: float, w_max: float) -> None:
    """derived/<name>: progress = the episode's success label (1 / 0) at every step, the trajectory-level reward."""
    import numpy as np

    from srpo.store import EpisodeStore
    from srpo_offline.advantages import AdvantageConfig
    from srpo_offline.reward_run import write_progress_run

    store = EpisodeStore.open(store_path, mode="a")
    progress = [np.full(e.end - e.start, float(e.success is True)) for e in store.episodes()]
    write_progress_run(store, name, progress, AdvantageConfig(estimator=estimator), beta, w_max,
                       {"encoder": "success_label", "source": "episode success labels"})


def reward_runs(cfg: OfflineBenchConfig, store_path: Path, needed: set[tuple[str, str]]) -> None:
    """Compute (once) the derived runs the methods need: srpo (--encoder), srpo-<encoder> (awr_srpo:ENCODER), oracle,
    and <reward>_<estimator> for each. A fitted encoder is fitted on this seed's store only: its training data."""
    from srpo.store import EpisodeStore
    from srpo_offline.advantages import AdvantageConfig
    from srpo_offline.oracle import compute_oracle_run
    from srpo_offline.reward_run import RewardConfig, compute_reward_run, reestimate_run

    runs = set(EpisodeStore.open(store_path).derived_runs())
    progress_runs = {"srpo": bench_encoder(cfg)} | {
        r: bench_encoder(replace(cfg, encoder=r.split("-", 1)[1], model=None, reward_camera="auto"))
        for r, _ in needed if r.startswith("srpo-")}
    for run, (encoder, camera, why) in sorted(progress_runs.items()):
        if run not in runs:
            print(f"SRPO progress ({run}): {encoder} on {camera} ({why})", flush=True)
            compute_reward_run(RewardConfig(store=str(store_path), encoder=encoder,
                                            model=cfg.model if run == "srpo" else None, camera=camera,
                                            stride=cfg.stride, fit_steps=cfg.fit_steps, beta=cfg.beta,
                                            w_max=cfg.w_max, device=cfg.device, run_name=run))
    if "oracle" not in runs:
        compute_oracle_run(store_path, name="oracle", beta=cfg.beta, w_max=cfg.w_max)
    for reward, estimator in sorted(needed | {("srpo", cfg.estimator), ("oracle", cfg.estimator)}):
        name = f"{reward}_{estimator}"
        if name in runs:
            continue
        if reward == "success":
            success_progress_run(store_path, name, estimator, cfg.beta, cfg.w_max)
        else:
            reestimate_run(store_path, reward, name, AdvantageConfig(estimator=estimator), cfg.beta, cfg.w_max)


def train_and_evaluate(cfg: OfflineBenchConfig, task: str, seed: int, store_path: Path, spec: str,
                       out: Path) -> Cell:
    """Train one method on the seed's store and deploy it on the seed's evaluation states."""
    import shutil

    from srpo.robot.runner import DeployConfig, deploy_policy
    from srpo_offline.awr import TrainConfig, train_awr

    method, estimator = parse_method(spec, cfg.estimator)
    if out.exists():
        shutil.rmtree(out)  # an unfinished earlier attempt
    t = time.perf_counter()
    result = train_awr(TrainConfig(
        store=str(store_path), out=str(out), policy="chunk_mlp", from_scratch=True, weighting=method.weighting,
        success_only=method.success_only, reward_run=f"{method.reward}_{estimator}" if method.reward else None,
        steps=cfg.train_steps, batch_size=cfg.batch_size, seed=seed, device=cfg.device, images=False,
        environment_state_keys=STATE_ONLY_ENV[task], policy_options=cfg.policy_options,
        val_every=cfg.train_steps, save_every=cfg.train_steps, progress=False))
    train_s = time.perf_counter() - t
    t = time.perf_counter()
    deployed = deploy_policy(DeployConfig(backend="sim", task=task, policy=str(result.checkpoint),
                                          episodes=cfg.eval_episodes, max_steps=MAX_STEPS[task],
                                          seed=10_000 + seed, device=cfg.device), progress=False)
    outcomes = [r.success is True for r in deployed.episodes]
    return Cell(task=task, seed=seed, method=spec, outcomes=outcomes, train_seconds=train_s,
                eval_seconds=time.perf_counter() - t, ess_fraction=float(result.weight_stats["ess_fraction"]),
                extra={"final_train_loss": result.train_loss[-1][1] if result.train_loss else None})


def clean_bar(cfg: OfflineBenchConfig, out: Path, cells_path: Path, cells: list[Cell]) -> list[dict]:
    """Uniform BC on clean expert data against the expert's own success rate, per task (seed 0's data)."""
    from srpo.store import EpisodeStore

    rows = []
    for task in cfg.clean_tasks:
        store = record_seed_store(cfg, task, 0, out / f"clean_{task}" / "store.zarr", "expert", cfg.clean_noise,
                                  cfg.clean_episodes)
        expert = [e.success is True for e in EpisodeStore.open(store).episodes()]
        cell = next((c for c in cells if (c.task, c.seed, c.method) == (f"clean_{task}", 0, "uniform")), None)
        if cell is None:
            t = _stage(f"clean bar, {task}: uniform BC on {len(expert)} clean expert episodes")
            cell = train_and_evaluate(cfg, task, 0, store, "uniform", out / f"clean_{task}" / "uniform")
            cell.task = f"clean_{task}"
            _append(cells_path, cell)
            print(f"{sum(cell.outcomes)}/{len(cell.outcomes)} ({time.perf_counter() - t:.0f} s)", flush=True)
        expert_rate = sum(expert) / len(expert)
        bc_rate = sum(cell.outcomes) / len(cell.outcomes)
        rows.append({"task": task, "expert_rate": expert_rate, "bc_rate": bc_rate,
                     "ratio": bc_rate / expert_rate if expert_rate else float("nan"),
                     "passed": expert_rate > 0 and bc_rate >= 0.8 * expert_rate})
    return rows


def _append(path: Path, cell: Cell) -> None:
    with path.open("a") as f:
        f.write(json.dumps(asdict(cell)) + "\n")


def run_offline_bench(cfg: OfflineBenchConfig) -> Path:
    """Run every (seed, method) cell not already in OUT/results.jsonl, then write the report; returns its path."""
    import torch

    from srpo.robot.teleop import parse_operator_mix
    from srpo_offline.bench_report import write_offline_report

    if cfg.task not in MAX_STEPS:
        raise UserFacingError(f"--task must be one of {', '.join(MAX_STEPS)}, not {cfg.task!r}")
    bad = [t for t in cfg.clean_tasks if t not in MAX_STEPS]
    if bad:
        raise UserFacingError(f"--clean-tasks must name sim tasks ({', '.join(MAX_STEPS)}), not {bad}")
    if not cfg.seeds or cfg.episodes < 2 or cfg.eval_episodes < 1:
        raise UserFacingError("give at least one seed, two recorded episodes and one evaluation episode")
    if cfg.workers < 1:
        raise UserFacingError(f"--workers {cfg.workers}: give 1 (seeds one after another) or more (seeds in parallel)")
    parse_operator_mix(cfg.operator)
    bench_encoder(cfg)
    specs = [(spec, *parse_method(spec, cfg.estimator)) for spec in cfg.methods]  # fail before any work
    if not specs:
        raise UserFacingError("--methods names no method")
    torch.set_num_threads(cfg.torch_threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    cells_path = out / "results.jsonl"
    done = {(c.task, c.seed, c.method) for c in _load_cells(cells_path)}
    workers = min(cfg.workers, len(cfg.seeds))
    if workers > 1:  # seeds are independent: each records, scores and trains in its own process
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for finished in [pool.submit(run_seed, cfg, seed, done) for seed in cfg.seeds]:
                finished.result()
    else:
        for seed in cfg.seeds:
            run_seed(cfg, seed, done)
    cells = _load_cells(cells_path)
    bar = clean_bar(cfg, out, cells_path, cells)
    path = write_offline_report(cfg, out, [c for c in cells if c.task == cfg.task and c.seed in cfg.seeds
                                           and c.method in cfg.methods], bar)
    summary = json.loads((out / "summary.json").read_text())
    print("\n" + "\n".join(verdict_lines(summary)), flush=True)
    print(f"\nreport: {path}", flush=True)
    return path


def run_seed(cfg: OfflineBenchConfig, seed: int, done: set[tuple[str, int, str]]) -> None:
    """One seed: record its store (once), score it, then train and evaluate every method not already `done`,
    appending each result to OUT/results.jsonl as it finishes (a killed run resumes where it stopped)."""
    import torch

    torch.set_num_threads(cfg.torch_threads)
    out = Path(cfg.out)
    t = _stage(f"seed {seed}: record {cfg.episodes} episodes of {cfg.task} ({cfg.operator}), score")
    store = record_seed_store(cfg, cfg.task, seed, out / f"seed{seed}" / "store.zarr", cfg.operator,
                              cfg.expert_noise, cfg.episodes)
    specs = [(spec, *parse_method(spec, cfg.estimator)) for spec in cfg.methods]
    reward_runs(cfg, store, {(m.reward, est) for _, m, est in specs if m.reward})
    print(f"seed {seed}: recorded and scored in {time.perf_counter() - t:.0f} s", flush=True)
    for spec in cfg.methods:
        if (cfg.task, seed, spec) in done:
            continue
        t = _stage(f"seed {seed}: train and evaluate {spec}")
        cell = train_and_evaluate(cfg, cfg.task, seed, store, spec, out / f"seed{seed}" / spec.replace("@", "-"))
        _append(out / "results.jsonl", cell)
        print(f"seed {seed}, {spec}: {sum(cell.outcomes)}/{len(cell.outcomes)} successes "
              f"({cell.train_seconds:.0f} s train, {cell.eval_seconds:.0f} s eval)", flush=True)


def verdict_lines(summary: dict) -> list[str]:
    """What a person reads at the end: the headline, the sanity checks, the clean-data bar."""
    from srpo_offline.bench_report import label
    from srpo_offline.bench_stats import verdict

    lines = [f"headline: {summary['headline']}"] if "headline" in summary else []
    for key in ("awr_srpo vs filtered", "awr_oracle vs filtered"):  # the label-only baseline dense progress must beat
        if key in summary["comparisons"]:
            a, b = key.split(" vs ")
            lines.append(f"{label(a)} vs {label(b)}: {verdict(label(a), label(b), summary['comparisons'][key])}")
    lines += [f"sanity {name}: {state}" for name, state in summary["checks"].items()]
    lines += [f"clean-data bar, {r['task']}: uniform BC {r['bc_rate']:.2f} vs expert {r['expert_rate']:.2f} "
              f"({'passed' if r['passed'] else 'FAILED'})" for r in summary["clean_bar"]]
    return lines


def bench_offline(config: OfflineBenchConfig) -> int:
    """offline benchmark on the simulated xArm: uniform BC, filtered BC, AWR-SRPO, AWR-oracle; report"""
    run_offline_bench(config)
    return 0
