"""The reward stage as one call: `compute_reward_run(RewardConfig(store=..., encoder=...))` scores every
episode of a store (per-step progress R, increments D, advantages A, AWR weights w and their clip flags) and
writes them under derived/<run> with their provenance. `srpo reward compute` and `srpo demo` both call it.
"""

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from srpo.configs import POSITIONAL
from srpo.errors import UserFacingError
from srpo_offline.advantages import DEFAULT_BETA, DEFAULT_W_MAX, AdvantageConfig, check_advantage_config
from srpo_offline.progress import StepProgress

REWARD_VERSION = 1  # bump when the computation of stored progress/advantages/weights changes
DERIVED_ARRAYS = ("progress", "increment", "advantage", "weight", "clipped", "distance")  # clipped: 1.0 / 0.0


@dataclass(frozen=True)
class EncodeOptions:
    """How the store's videos are encoded and turned into progress (shared by `compute` and `bench`)."""

    device: str = "cpu"  # torch device for the encoder, e.g. cuda (fp16 on GPU)
    batch_size: int = 8  # videos (prefixes) per encoder call
    num_frames: int | None = None  # frames sampled per video; None: the encoder's own (vjepa2: 64, image: 8)
    camera: str = "auto"  # which camera's video to encode: auto (the encoder's own: srpo_offline.encoders.choose_encoder) or a store camera such as camera0
    stride: int = 1  # encode every K-th prefix and interpolate between (cost / K; see docs/reward.md)
    fit_steps: int = 400  # updates of a fitted encoder (learned, state) fitted here on the scored store when no --model is given
    normalise: str = "task"  # task: progress comparable across a task's episodes (training); trajectory: min-max per episode (the paper's plots)


@dataclass(frozen=True)
class RewardConfig(EncodeOptions):
    """Encode growing prefixes (frames 0..t) of every episode, measure their distance to the DBSCAN centres of
    the task's successful episodes, and store progress R, increments D, advantages A and AWR weights
    w = min(exp(A/beta), w_max) under derived/<run> with their provenance. Only episodes labelled successful
    are references; unlabelled episodes are scored and reported."""

    store: str = field(default="", metadata=POSITIONAL)  # episode store directory
    encoder: str = "vjepa2"  # world model (vjepa2), a baseline (image, pixel), or auto: srpo_offline.encoders.choose_encoder
    model: str | None = None  # hub id or local directory; None: the encoder's default (vjepa2: facebook/vjepa2-vitl-fpc64-256)
    beta: float = DEFAULT_BETA  # AWR temperature
    w_max: float = DEFAULT_W_MAX  # AWR weight clip
    estimator: str = "gae"  # advantage estimator: gae (measured best, docs/offline_bench.md), paper (R(t) - R(t-1), the paper's), n_step, to_go, final, shaped (gae ending with the trajectory reward of eq. 5)
    n_step: int = 10  # k of --estimator n_step: R(t+k) - R(t)
    gae_lambda: float = 0.95  # lambda of --estimator gae (0: one-step forward increment, 1: to_go)
    run_name: str | None = None  # derived group name; None: srpo_<encoder>
    overwrite: bool = False  # replace an existing run of that name

    def advantage(self) -> AdvantageConfig:
        return AdvantageConfig(estimator=self.estimator, n_step=self.n_step, gae_lambda=self.gae_lambda)


@dataclass(frozen=True, eq=False)
class RewardRun:
    """What `compute_reward_run` wrote."""

    name: str  # derived/<name> in the store
    store: Path  # the store
    result: StepProgress  # per-episode arrays and the task references
    provenance: dict  # what the run was computed from (also stored in the derived group's attrs)
    labels: list  # success label per episode (True / False / None)


def camera_of(store, chosen: str, asked: str = "auto") -> str:
    """The store camera a reward run encodes: the chooser's camera (`choose_encoder`) in the store's naming; when
    the camera was not asked for and the store lacks it (an imported LeRobot dataset names its own cameras), the
    store's first camera."""
    from srpo_offline.encoders import store_camera

    camera = store_camera(chosen)
    names = [c.name for c in store.config.cameras]
    if asked == "auto" and camera != "state" and camera not in names and names:
        return names[0]
    return camera


class StoreVideos:
    """The episodes of one camera of a store as a lazily loaded sequence of uint8 T x H x W x 3 videos; camera
    "state": the state encoder's T x D features (`srpo_offline.encoders.fitting.state_features`) instead."""

    def __init__(self, store, camera: str):
        from srpo_offline.encoders.fitting import state_keys

        self.store = store
        self.state = camera == "state"
        self.keys = list(state_keys(store)) if self.state else [f"{camera}_rgb"]
        if not self.state and self.keys[0] not in store.keys:
            cams = [c.name for c in store.config.cameras]
            raise UserFacingError(f"{store.path} has no camera {camera!r}; choose --camera from {', '.join(cams)}")

    def __len__(self) -> int:
        return self.store.num_episodes

    def __getitem__(self, i: int):
        from srpo_offline.encoders.fitting import state_features

        arrays = self.store.episode(i, keys=self.keys)
        return state_features(arrays, tuple(self.keys)) if self.state else arrays[self.keys[0]]


def make_encoder(options: EncodeOptions, name: str, model: str | None, store=None):
    """The named encoder; a fitted one (learned, state) without a model is fitted on `store` first (cached)."""
    from srpo_offline.encoders import ENCODERS, build_encoder

    if getattr(ENCODERS.get(name), "fitted", False) and model is None:
        from srpo_offline.encoders.fitting import FitConfig, fit_encoder

        if store is None:
            raise UserFacingError(f"the {name} encoder is fitted on a store: pass --model FILE (srpo reward fit)")
        camera = options.camera if name == "learned" else FitConfig.camera
        model = str(fit_encoder(FitConfig(store=str(store.path), encoder=name, camera=camera, steps=options.fit_steps)))
    return build_encoder(name, model=model, device=options.device, batch_size=options.batch_size,
                         num_frames=options.num_frames)


def store_progress(store, options: EncodeOptions, encoder, beta: float = DEFAULT_BETA, w_max: float = DEFAULT_W_MAX,
                   advantage: AdvantageConfig = AdvantageConfig()):
    """step_progress over every episode of an open store; returns (StepProgress, StepProgressConfig, labels)."""
    from srpo_offline.progress import StepProgressConfig, step_progress

    episodes = store.episodes()
    if not episodes:
        raise UserFacingError(f"{store.path} holds no episodes; record some first")
    config = StepProgressConfig(stride=options.stride, beta=beta, w_max=w_max, normalise=options.normalise,
                                batch_size=options.batch_size, advantage=advantage)
    labels = [e.success for e in episodes]
    if not any(labels):
        raise UserFacingError(
            f"{store.path} has no episode labelled successful: progress needs successful references. "
            "Label episodes with `srpo data label` (or EpisodeStore.set_success) first."
        )
    videos = StoreVideos(store, options.camera)
    return step_progress(videos, labels, [e.task for e in episodes], encoder, config), config, labels


def references_summary(result) -> dict:
    return {t: {"episodes": r.episodes, "n_clusters": r.n_clusters, "n_noise": r.n_noise,
                "fell_back_to_mean": r.fell_back_to_mean, "d_start": r.d_start, "d_end": r.d_end}
            for t, r in result.references.items()}


def compute_reward_run(cfg: RewardConfig) -> RewardRun:
    """Score every episode of cfg.store and write derived/<run> with its provenance; returns what was written."""
    import srpo
    from srpo.store import EpisodeStore

    if not cfg.store:
        raise UserFacingError("name the episode store to score (STORE)")
    from srpo_offline.encoders import choose_encoder, store_camera

    store = EpisodeStore.open(cfg.store, mode="a")
    choice = choose_encoder(cfg.encoder, cfg.model, cfg.camera)
    cfg = replace(cfg, encoder=choice.name, camera=camera_of(store, choice.camera, cfg.camera))
    why = choice.why
    if cfg.camera != store_camera(choice.camera):  # said, not silent: the store names its cameras otherwise
        why += (f"; the store has no {store_camera(choice.camera)} camera, so its first camera, {cfg.camera}, is "
                "scored (choose another with --camera)")
    run = cfg.run_name or f"srpo_{cfg.encoder}"
    if run in store.derived_runs() and not cfg.overwrite:
        prov = store.root["derived"][run].attrs.get("provenance", {})
        raise UserFacingError(
            f"derived/{run} already exists in {cfg.store} (encoder {prov.get('encoder')}, stride "
            f"{prov.get('stride')}, beta {prov.get('beta')}); pass --run-name OTHER to keep both results, "
            "or --overwrite to replace it"
        )
    check_advantage_config(cfg.advantage())
    encoder = make_encoder(cfg, cfg.encoder, cfg.model, store)
    result, config, labels = store_progress(store, cfg, encoder, cfg.beta, cfg.w_max, cfg.advantage())
    provenance = {
        "encoder": encoder.name, "model": encoder.model_id, "camera": cfg.camera, "why": why,
        "stride": config.stride, "beta": config.beta, "w_max": config.w_max, "normalise": config.normalise,
        "cluster": asdict(config.cluster), "advantage": config.advantage.provenance(), "mu": result.mu, "sigma": result.sigma,
        "references": references_summary(result), "unlabelled": result.unlabelled,
        "unreferenced": result.unreferenced, "encoded_prefixes": result.encoded_prefixes,
        "version": REWARD_VERSION, "srpo_version": srpo.__version__,
    }
    if hasattr(encoder, "fit_provenance"):
        provenance["fit"] = encoder.fit_provenance
    store.write_derived(run, {k: result.concat(k) for k in DERIVED_ARRAYS}, provenance, overwrite=cfg.overwrite)
    return RewardRun(name=run, store=Path(cfg.store), result=result, provenance=provenance, labels=labels)


def summary_lines(run: RewardRun) -> list[str]:
    """What a person reads after scoring: counts, references per task, and the run's name."""
    result, prov, labels = run.result, run.provenance, run.labels
    lines = [f"scored {len(labels)} episodes ({sum(s is True for s in labels)} successful references, "
             f"{len(result.unlabelled)} unlabelled, {len(result.unreferenced)} without a task reference) "
             f"with {prov['encoder']} ({prov['model']}) on camera {prov['camera']}, {result.encoded_prefixes} "
             f"prefixes encoded", f"  why: {prov['why']}"]
    for task, r in result.references.items():
        how = "mean (no DBSCAN cluster)" if r.fell_back_to_mean else f"{r.n_clusters} clusters, {r.n_noise} noise"
        lines.append(f"  task {task!r}: {len(r.episodes)} references -> {how}")
    if result.unreferenced:
        lines.append(f"  episodes without a labelled success in their task (progress NaN, weight 1): "
                     f"{result.unreferenced}")
    lines.append(f"run name: {run.name}")
    return lines


def store_terminal(store, distance: list):
    """Each episode's SRPO trajectory reward (eq. 5; `srpo_offline.progress.terminal_rewards`) from the store's
    labels and the last entry of each episode's distance."""
    from srpo_offline.progress import terminal_rewards

    episodes = store.episodes()
    return terminal_rewards([d[-1] for d in distance], [e.success for e in episodes], [e.task for e in episodes])


def write_progress_run(store, name: str, progress: list, advantage: AdvantageConfig, beta: float, w_max: float,
                       provenance: dict, extra: dict | None = None, overwrite: bool = False) -> dict:
    """derived/<name> from per-episode progress computed elsewhere (oracle, success labels): advantages and AWR
    weights by `advantage` (distance: 1 - progress), in the arrays and provenance layout of
    `compute_reward_run`; returns the provenance."""
    import numpy as np

    import srpo
    from srpo_offline.advantages import progress_advantages

    check_advantage_config(advantage)
    if name in store.derived_runs() and not overwrite:
        raise UserFacingError(f"derived/{name} already exists in {store.path}; choose another name or overwrite")
    distance = [1.0 - np.asarray(p, dtype=np.float64) for p in progress]
    adv = progress_advantages(progress, advantage, beta, w_max, store_terminal(store, distance))

    def concat(parts) -> np.ndarray:
        return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts]).astype(np.float32)

    arrays = {"progress": concat(progress), "increment": concat(adv.increment), "advantage": concat(adv.advantage),
              "weight": concat(adv.weight), "clipped": concat(adv.clipped),
              "distance": concat(distance)}
    arrays.update({k: concat(v) for k, v in (extra or {}).items()})
    provenance = {**provenance, "beta": beta, "w_max": w_max, "advantage": advantage.provenance(), "mu": adv.mu,
                  "sigma": adv.sigma, "distance": "1 - progress", "srpo_version": srpo.__version__}
    store.write_derived(name, arrays, provenance, overwrite=overwrite)
    return provenance


def reestimate_run(store_path, source: str, name: str, advantage: AdvantageConfig = AdvantageConfig(),
                   beta: float | None = None, w_max: float | None = None, overwrite: bool = False) -> dict:
    """A new run derived/<name> with the progress of derived/<source> (an SRPO or oracle run) and advantages and
    weights from another estimator (beta / w_max: the source's unless given), without encoding anything again.
    Copies the source's other per-step arrays; returns the new provenance (`source_run` names where it came from)."""
    import numpy as np

    from srpo.store import EpisodeStore
    from srpo_offline.advantages import progress_advantages

    check_advantage_config(advantage)
    store = EpisodeStore.open(store_path, mode="a")
    if name in store.derived_runs() and not overwrite:
        raise UserFacingError(f"derived/{name} already exists in {store_path}; choose another name or overwrite")
    if source not in store.derived_runs():
        raise UserFacingError(f"{store_path} has no derived/{source}; its runs: {', '.join(store.derived_runs())}")
    arrays, attrs = store.read_derived(source)
    if "progress" not in arrays:
        raise UserFacingError(f"derived/{source} has no 'progress' array to estimate advantages from")
    prov = dict(attrs.get("provenance", {}))
    beta = beta if beta is not None else prov.get("beta", DEFAULT_BETA)
    w_max = w_max if w_max is not None else prov.get("w_max", DEFAULT_W_MAX)
    progress = np.split(np.asarray(arrays["progress"], dtype=np.float64), store.episode_ends[:-1])
    distance = np.split(np.asarray(arrays.get("distance", 1.0 - arrays["progress"]), dtype=np.float64),
                        store.episode_ends[:-1])
    adv = progress_advantages(progress, advantage, beta, w_max, store_terminal(store, distance))
    new = {k: np.concatenate([np.asarray(p, dtype=np.float64) for p in getattr(adv, k)]).astype(np.float32)
           for k in ("increment", "advantage", "weight", "clipped")}
    provenance = {**prov, "beta": beta, "w_max": w_max, "advantage": advantage.provenance(), "mu": adv.mu,
                  "sigma": adv.sigma, "source_run": source}
    store.write_derived(name, {**arrays, **new}, provenance, overwrite=overwrite)
    return provenance
