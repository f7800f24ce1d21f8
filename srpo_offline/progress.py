"""Self-referential world-progress rewards (paper sec. 3.2, eqs. 2-5; appendices B-D).

`trajectory_rewards` gives one reward per trajectory of one task group (the online trainer); `step_progress`
gives per-step progress, increments, advantages and AWR weights for recorded episodes (the offline pipeline).
Both measure the L2 distance from an embedding to the nearest centre of the task's successful references.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from srpo.errors import RewardInputError
from srpo_offline.advantages import DEFAULT_BETA, DEFAULT_W_MAX, AdvantageConfig, progress_advantages
from srpo_offline.clustering import ClusterConfig, cluster_references

log = logging.getLogger(__name__)

VARIANTS = ("paper", "siirl", "nearest", "fixed-reference")
ALPHA = 0.8  # failure-reward scale: the paper's best, the default everywhere (offline and online)
SIIRL_SCALE = 0.6  # the authors' code hard-codes 0.6 * sigmoid(10 * (0.5 - nd)); alpha does not apply
SIIRL_SLOPE = 10.0
SIIRL_EQUAL_RANGE = 1e-6  # siiRL: a failure-distance range below this (absolute) gives every failure nd = 0.5
STD_FLOOR = 1e-12  # a spread at or below this (relative to the mean distance) counts as zero


@dataclass(frozen=True, eq=False)
class TrajectoryRewards:
    """Rewards of one task group, with what the clustering did (for logging and tests)."""

    rewards: np.ndarray  # [N] float64: 1.0 for successes; failures in [0, alpha) (siirl: [0, 0.6))
    distances: np.ndarray  # [N] L2 distance of every trajectory to its nearest centre; NaN without references
    centres: np.ndarray  # [K, D] reference centres used (K = 0 without references)
    n_clusters: int  # DBSCAN clusters among the references (nearest: number of references; 0 on fallback)
    n_noise: int  # references DBSCAN labelled noise (not used as centres)
    fell_back_to_mean: bool  # DBSCAN found no cluster, so the centre is the mean of the references
    eps: float | None  # DBSCAN radius used (None: no DBSCAN ran)
    variant: str  # paper | siirl | nearest | fixed-reference
    n_success: int  # successes in the group
    n_failure: int  # failures in the group
    note: str | None = None  # why the failures were left unshaped, when they were


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))  # overflow-free logistic


def check_embeddings(embeddings, what: str = "embeddings") -> np.ndarray:
    """float64 [N, D] array, refusing NaN/inf (a corrupt video or a broken encoder) with the rows named."""
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise RewardInputError(f"{what} must be a 2-D array [N, D], got shape {x.shape}")
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad.size:
        raise RewardInputError(
            f"{what} of rows {bad[:10].tolist()}{' ...' if bad.size > 10 else ''} contain NaN or inf; "
            "re-encode those videos or drop those trajectories before computing rewards"
        )
    return x


def nearest_centre_distance(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """[N] L2 distance from each row of x to its nearest centre (eq. 4)."""
    d2 = (x**2).sum(1)[:, None] - 2.0 * x @ centres.T + (centres**2).sum(1)[None, :]
    return np.sqrt(np.maximum(d2.min(axis=1), 0.0))


def standardised(d: np.ndarray) -> np.ndarray:
    """(d - mean) / std over the given distances (population std); all zeros when the spread is zero."""
    mean, std = d.mean(), d.std()
    if std <= STD_FLOOR * max(1.0, abs(mean)):
        return np.zeros_like(d)
    return (d - mean) / std


def paper_phi(d_fail: np.ndarray, alpha: float) -> np.ndarray:
    """Eq. 5 with the paper's activation: alpha * sigmoid(-(d - mean_fail) / std_fail).

    The minus sign makes a smaller distance a larger reward. A lone failure, or failures all at the same
    distance, sit at the mean: alpha / 2.
    """
    return alpha * sigmoid(-standardised(d_fail))


def siirl_phi(d_fail: np.ndarray) -> np.ndarray:
    """The authors' code: nd = min-max over failures, 0.6 * sigmoid(10 * (0.5 - nd)).

    A range below 1e-6 (absolute; one failure, or all at the same distance) gives nd = 0.5, i.e. reward 0.3
    (siiRL siirl/utils/reward_score/embodied.py, compute_embodied_reward).
    """
    span = d_fail.max() - d_fail.min()
    nd = (d_fail - d_fail.min()) / span if span >= SIIRL_EQUAL_RANGE else np.full_like(d_fail, 0.5)
    return SIIRL_SCALE * sigmoid(SIIRL_SLOPE * (0.5 - nd))


def trajectory_rewards(
    embeddings: np.ndarray,
    success: np.ndarray,
    variant: str = "paper",
    alpha: float = ALPHA,
    *,
    reference: np.ndarray | None = None,
    cluster: ClusterConfig | None = None,
) -> TrajectoryRewards:
    """One reward per trajectory of ONE task group (call it per task; the reference set is the group's own).

    embeddings [N, D] world-model embeddings (eq. 2); success [N] bool. Successes get 1.0; a failure gets
    phi(standardised distance to the nearest success centre) (eq. 5). Variants:
      paper            DBSCAN centres of the group's successes, alpha * sigmoid(-(d - mean_fail)/std_fail)
      siirl            the authors' code: StandardScaler + DBSCAN(eps=0.5) (unless `cluster` is given),
                       0.6 * sigmoid(10 * (0.5 - minmax(d)))  (alpha only switches it off: alpha = 0)
      nearest          no clustering: distance to the nearest single success (ablation C.2)
      fixed-reference  centres of `reference` [M, D] (e.g. expert demos of the task) instead of the
                       group's successes (ablation C.1)
    alpha = 0 is plain GRPO for every variant: failures get 0.0 and nothing is clustered.
    Edge cases: no failures -> all 1.0; no successes (and no fixed reference) -> failures get 0.0, i.e.
    plain GRPO, with a warning; one failure or equal distances -> alpha / 2 (siirl: nd = 0.5, i.e. 0.3);
    NaN/inf embeddings -> RewardInputError naming the rows.
    """
    if variant not in VARIANTS:
        raise RewardInputError(f"unknown reward variant {variant!r}; use one of {', '.join(VARIANTS)}")
    if not 0.0 <= alpha <= 1.0:
        raise RewardInputError(f"alpha must lie in [0, 1] (the paper's best is {ALPHA}), got {alpha}")
    if (reference is not None) != (variant == "fixed-reference"):
        raise RewardInputError("pass `reference` embeddings exactly when variant='fixed-reference'")
    x = check_embeddings(embeddings)
    ok = np.asarray(success)
    if ok.shape != (x.shape[0],):
        raise RewardInputError(f"success must have shape ({x.shape[0]},) like the embeddings, got {ok.shape}")
    ok = ok.astype(bool)
    n, fail = x.shape[0], ~ok
    rewards = np.where(ok, 1.0, 0.0)
    if alpha == 0.0:
        return TrajectoryRewards(rewards, np.full(n, np.nan), np.zeros((0, x.shape[1])), 0, 0, False, None,
                                 variant, int(ok.sum()), int(fail.sum()), "alpha = 0: plain GRPO (binary rewards)")

    refs = check_embeddings(reference, "reference embeddings") if reference is not None else x[ok]
    if refs.shape[0] and refs.shape[1] != x.shape[1]:
        raise RewardInputError(f"reference embeddings have dim {refs.shape[1]}, trajectories {x.shape[1]}")
    if refs.shape[0] == 0:
        note = "no successful reference: failures get 0 (plain GRPO)" if fail.any() else None
        if note:
            log.warning("trajectory_rewards: %s", note)
        return TrajectoryRewards(rewards, np.full(n, np.nan), np.zeros((0, x.shape[1])), 0, 0, False, None,
                                 variant, int(ok.sum()), int(fail.sum()), note)

    if variant == "nearest":
        centres, n_clusters, n_noise, fell_back, eps = refs, refs.shape[0], 0, False, None
    else:
        config = cluster or (ClusterConfig.siirl() if variant == "siirl" else ClusterConfig())
        c = cluster_references(refs, config)
        centres, n_clusters, n_noise, fell_back, eps = c.centres, c.n_clusters, c.n_noise, c.fell_back_to_mean, c.eps
    distances = nearest_centre_distance(x, centres)
    if fail.any():
        d_fail = distances[fail]
        rewards[fail] = siirl_phi(d_fail) if variant == "siirl" else paper_phi(d_fail, alpha)
    return TrajectoryRewards(rewards, distances, centres, n_clusters, n_noise, fell_back, eps, variant,
                             int(ok.sum()), int(fail.sum()))


def grouped_trajectory_rewards(
    embeddings: np.ndarray, success: np.ndarray, groups: Sequence, *, keep: np.ndarray | None = None, **kwargs
) -> tuple[np.ndarray, dict]:
    """`trajectory_rewards` run separately on each task group; returns ([N] rewards, {group: result}).

    `keep` ([N] bool) filters BEFORE any reward is computed: only kept trajectories are references and enter the
    failure normalisation, the others get NaN. This is siiRL's order (embodied_sampling's accuracy filter, then
    compute_reward; siirl/execution/dag/builtin_pipelines.py, embodied_srpo_pipeline).
    """
    x, ok, groups = np.asarray(embeddings), np.asarray(success), np.asarray(groups)
    if groups.shape != ok.shape:
        raise RewardInputError(f"groups must have one entry per trajectory ({ok.shape}), got {groups.shape}")
    keep = np.ones(len(ok), dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    if keep.shape != ok.shape:
        raise RewardInputError(f"keep must have one entry per trajectory ({ok.shape}), got {keep.shape}")
    rewards = np.full(len(ok), np.nan)
    results = {}
    for g in dict.fromkeys(groups[keep].tolist()):
        idx = np.flatnonzero((groups == g) & keep)
        results[g] = trajectory_rewards(x[idx], ok[idx], **kwargs)
        rewards[idx] = results[g].rewards
    return rewards, results


# ---------------------------------------------------------------- per-step progress (offline)
NORMALISATIONS = ("task", "trajectory")
SPAN_FLOOR = 1e-12  # a task whose start and end distances coincide cannot order its steps


@dataclass(frozen=True)
class StepProgressConfig:
    """How per-step progress, advantages and AWR weights are computed."""

    stride: int = 1  # encode every stride-th prefix (and the last); distances in between are interpolated
    beta: float = DEFAULT_BETA  # AWR temperature: w = min(exp(A / beta), w_max)
    w_max: float = DEFAULT_W_MAX  # AWR weight clip
    normalise: str = "task"  # "task": comparable across a task's episodes; "trajectory": min-max, plots only
    batch_size: int = 16  # prefixes (or reference videos) handed to the encoder at once
    cluster: ClusterConfig = ClusterConfig()  # clustering of each task's successful references
    advantage: AdvantageConfig = AdvantageConfig()  # which estimator scores a step from the progress


@dataclass(frozen=True, eq=False)
class TaskReference:
    """The success reference of one task and the distances that anchor its progress scale."""

    task: str  # task instruction
    episodes: list[int]  # reference episodes: those labelled successful
    centres: np.ndarray  # [K, D] DBSCAN centres of their full-episode embeddings
    n_clusters: int  # clusters found (0: fell back to the mean)
    n_noise: int  # references labelled noise
    fell_back_to_mean: bool  # DBSCAN found no cluster
    d_start: float  # median distance of the task's first-frame prefixes: progress 0
    d_end: float  # median distance of its complete successful episodes: progress 1


@dataclass(frozen=True, eq=False)
class StepProgress:
    """Per-episode arrays (one entry per step) and what they were computed from."""

    distance: list[np.ndarray]  # L2 distance of prefix 0..t to the nearest success centre of the task
    progress: list[np.ndarray]  # R(i, t) in [0, 1]; NaN for episodes of tasks without a success reference
    increment: list[np.ndarray]  # D(i, t) = R(i, t) - R(i, t-1), D(i, 0) = 0
    advantage: list[np.ndarray]  # A = (score - mu) / sigma over the dataset (score: the estimator's, paper: D); 0 where progress is NaN
    weight: list[np.ndarray]  # min(exp(A / beta), w_max)
    clipped: list[np.ndarray]  # bool: the weight hit w_max
    references: dict[str, TaskReference]  # per task that has at least one labelled success
    unlabelled: list[int]  # episodes without a success label: scored, never used as references
    unreferenced: list[int]  # episodes of tasks with no labelled success: progress NaN, weight 1
    mu: float  # mean of the estimator's score (paper: the increment D) over the dataset
    sigma: float  # its standard deviation over the dataset
    encoded_prefixes: int  # encoder inputs spent on prefixes (the cost the stride reduces)

    def concat(self, key: str) -> np.ndarray:
        """One of the per-episode fields concatenated over episodes (the store's step order), float32."""
        parts = getattr(self, key)
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)


def terminal_rewards(final_distance: Sequence[float], success: Sequence[bool | None], tasks: Sequence[str],
                     alpha: float = ALPHA) -> np.ndarray:
    """[N] SRPO's trajectory reward of each episode (eq. 5), the terminal reward of the `shaped` estimator:
    1.0 for a success, `paper_phi` of its full-episode distance standardised over its task's failures for a
    failure, NaN for an unlabelled episode or one without a finite distance (no reference)."""
    d = np.asarray(final_distance, dtype=np.float64)
    ok = np.array([s is True for s in success])
    fail = np.array([s is False for s in success]) & np.isfinite(d)
    g = np.where(ok, 1.0, np.nan)
    tasks = np.asarray(tasks)
    for task in dict.fromkeys(tasks[fail].tolist()):
        group = fail & (tasks == task)
        g[group] = paper_phi(d[group], alpha)
    return g


def prefix_grid(length: int, stride: int) -> np.ndarray:
    """Prefix ends t that are encoded: 0, stride, 2*stride, ... and always the last step."""
    return np.unique(np.r_[np.arange(0, length, stride), length - 1])


def prefix_distances(encoder, video: np.ndarray, centres: np.ndarray, stride: int = 1,
                     batch_size: int = 16) -> tuple[np.ndarray, int]:
    """Distance of every prefix video[:t+1] to the nearest centre; strided prefixes are interpolated.

    Returns (distances [T], number of prefixes encoded).
    """
    grid = prefix_grid(len(video), stride)
    emb = []
    for start in range(0, len(grid), batch_size):
        emb.append(encoder.encode([video[: t + 1] for t in grid[start : start + batch_size]]))
    d_grid = nearest_centre_distance(check_embeddings(np.concatenate(emb), "prefix embeddings"), centres)
    return np.interp(np.arange(len(video)), grid, d_grid), len(grid)


def normalised_progress(d: np.ndarray, ref: TaskReference, normalise: str) -> np.ndarray:
    """Distances -> progress in [0, 1].

    "task": R = clip((d_start - d) / (d_start - d_end), 0, 1) with the task's anchors, so equal distances give
    equal progress in every episode of the task. "trajectory": the appendix-B plot normalisation,
    (max d - d) / (max d - min d) within the episode.
    """
    if normalise == "trajectory":
        span = d.max() - d.min()
        return (d.max() - d) / span if span > SPAN_FLOOR else np.zeros_like(d)
    span = ref.d_start - ref.d_end
    if span <= SPAN_FLOOR:
        return np.zeros_like(d)
    return np.clip((ref.d_start - d) / span, 0.0, 1.0)


def encode_videos(encoder, videos, indices: list[int], batch_size: int) -> np.ndarray:
    out = [encoder.encode([videos[i] for i in indices[s : s + batch_size]])
           for s in range(0, len(indices), batch_size)]
    return check_embeddings(np.concatenate(out), "reference embeddings")


def step_progress(
    videos: Sequence[np.ndarray],
    success: Sequence[bool | None],
    tasks: Sequence[str],
    encoder,
    config: StepProgressConfig = StepProgressConfig(),
    progress_bar: bool = True,
) -> StepProgress:
    """Per-step progress R, increments D, advantages A and AWR weights w for recorded episodes.

    videos: a sequence (may load lazily on indexing) of uint8 T x H x W x 3 episodes; success: True / False /
    None (or the store's 1 / 0 / -1) per episode; tasks: the task of each episode; encoder: anything with encode(videos).
    Only episodes labelled successful serve as references (their full-episode embeddings, clustered per task);
    every episode of a task with a reference gets progress from the prefixes 0..t of its video.
    """
    from tqdm.auto import tqdm

    if config.normalise not in NORMALISATIONS:
        raise RewardInputError(f"normalise must be one of {NORMALISATIONS}, got {config.normalise!r}")
    if config.stride < 1:
        raise RewardInputError(f"stride must be >= 1, got {config.stride}")
    n = len(videos)
    if len(success) != n or len(tasks) != n:
        raise RewardInputError(f"{n} videos but {len(success)} success labels and {len(tasks)} tasks")
    success = [None if s is None or int(s) < 0 else bool(s) for s in success]  # store labels: -1 unlabelled
    task_names = list(dict.fromkeys(tasks))
    clusters = {}
    for task in task_names:
        refs = [i for i in range(n) if tasks[i] == task and success[i] is True]
        if refs:
            clusters[task] = (refs, cluster_references(encode_videos(encoder, videos, refs, config.batch_size),
                                                       config.cluster))
    distance: list[np.ndarray] = []
    encoded = 0
    for i in tqdm(range(n), desc="prefix progress", unit="episode", disable=not progress_bar):
        if tasks[i] in clusters:
            d, k = prefix_distances(encoder, videos[i], clusters[tasks[i]][1].centres, config.stride,
                                    config.batch_size)
            encoded += k
        else:
            d = np.full(len(videos[i]), np.nan)
        distance.append(d)

    references = {}
    for task, (refs, c) in clusters.items():
        members = [i for i in range(n) if tasks[i] == task]
        references[task] = TaskReference(
            task, refs, c.centres, c.n_clusters, c.n_noise, c.fell_back_to_mean,
            d_start=float(np.median([distance[i][0] for i in members])),
            d_end=float(np.median([distance[i][-1] for i in refs])),
        )
    for ref in references.values():
        if config.normalise == "task" and ref.d_start - ref.d_end <= SPAN_FLOOR:
            log.warning(
                "step_progress: for task %r the first frames are no farther from the success reference than the "
                "successful endings (d_start %.4g <= d_end %.4g): this encoder/camera does not measure progress "
                "here, so progress is flat (0) and AWR reduces to uniform weights. Try another --camera or encoder.",
                ref.task, ref.d_start, ref.d_end)
    unreferenced = [i for i in range(n) if tasks[i] not in references]
    if unreferenced:
        log.warning("step_progress: %d episodes belong to tasks without a labelled success (no reference): "
                    "progress NaN, weight 1", len(unreferenced))
    progress = [normalised_progress(distance[i], references[tasks[i]], config.normalise)
                if tasks[i] in references else distance[i] for i in range(n)]
    terminal = terminal_rewards([d[-1] for d in distance], success, tasks)
    adv = progress_advantages(progress, config.advantage, config.beta, config.w_max, terminal)
    unlabelled = [i for i in range(n) if success[i] is None]
    return StepProgress(distance, progress, adv.increment, adv.advantage, adv.weight, adv.clipped, references,
                        unlabelled, unreferenced, adv.mu, adv.sigma, encoded)
