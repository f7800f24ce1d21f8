"""Reference centres of successful trajectories: DBSCAN that really clusters (paper eq. 3).

The authors' code standardises ~1400-dim V-JEPA embeddings and runs DBSCAN with a fixed eps=0.5; standardised
distances grow with sqrt(dim), so every point is noise and the centre silently becomes the plain mean. Here the
successes are first projected onto their principal components (n points span at most n-1 dimensions, so a PCA
to min(n-1, max_dim) components keeps their pairwise L2 distances, i.e. the geometry eq. 4 measures), and eps
is read off the data with the k-distance rule of the DBSCAN paper (Ester et al. 1996): sort every point's
distance to its (min_samples-1)-th nearest neighbour and cut where that curve jumps (`k_distance_eps`). Centres are the cluster
means in the original embedding space; noise points are not centres. Only when DBSCAN finds no cluster at all
do we fall back to the mean of all successes, and say so.
"""

from dataclasses import dataclass

import numpy as np

KNEE_RATIO = 2.0  # a step of this factor between consecutive sorted k-distances separates noise from clusters
EPS_INFLATE = 1e-6  # relative slack so the point that defines eps counts as its own neighbour's neighbour


@dataclass(frozen=True)
class ClusterConfig:
    """How the successes of one task are clustered into reference centres."""

    min_samples: int = 2  # DBSCAN min_samples (a point counts itself); also k+1 of the k-distance rule
    eps: float | None = None  # fixed DBSCAN radius; None: chosen from the data with the k-distance rule
    standardize: bool = False  # scale each feature to unit variance first (what the authors' code does)
    max_dim: int | None = 32  # PCA to at most this many components before clustering; None: no PCA

    @classmethod
    def siirl(cls) -> "ClusterConfig":
        """The authors' released setting: StandardScaler, DBSCAN(eps=0.5, min_samples=2), no reduction."""
        return cls(min_samples=2, eps=0.5, standardize=True, max_dim=None)


@dataclass(frozen=True, eq=False)
class Clustering:
    """Result of clustering one reference set."""

    centres: np.ndarray  # [K, D] reference centres in the original embedding space
    labels: np.ndarray  # [n] DBSCAN label of every reference embedding, -1 = noise
    n_clusters: int  # clusters DBSCAN found (0 when it fell back to the mean)
    n_noise: int  # reference embeddings DBSCAN labelled noise
    fell_back_to_mean: bool  # True when DBSCAN found no cluster and the centre is the mean of all references
    eps: float | None  # the DBSCAN radius used (None when too few references to run DBSCAN)


def clustering_space(x: np.ndarray, config: ClusterConfig) -> np.ndarray:
    """Embeddings mapped into the space DBSCAN runs in (optional standardisation, then PCA)."""
    x = x - x.mean(axis=0, keepdims=True)
    if config.standardize:
        std = x.std(axis=0, keepdims=True)
        x = x / np.where(std > 0, std, 1.0)
    if config.max_dim is not None:
        k = max(1, min(config.max_dim, x.shape[0] - 1, x.shape[1]))
        u, s, _ = np.linalg.svd(x, full_matrices=False)
        x = u[:, :k] * s[:k]
    return x


def k_distance_eps(x: np.ndarray, k: int) -> float:
    """eps from the sorted k-distance curve (distance of each point to its k-th nearest neighbour, k >= 1).

    The DBSCAN paper reads eps off the "valley" where this curve jumps: points to the right of the jump are
    noise. Here a jump is a step of at least KNEE_RATIO between consecutive sorted k-distances, searched in
    the upper half of the curve (so at most half the references become noise); eps is the k-distance just
    below the last such jump. Without a jump the references share one density and eps is the largest
    k-distance, making every reference a core point (clusters are then the groups that are far apart).
    """
    from sklearn.metrics import pairwise_distances

    dists = pairwise_distances(x)
    curve = np.sort(np.sort(dists, axis=1)[:, min(k, x.shape[0] - 1)])  # column 0 is the point itself
    eps = curve[-1]
    for j in range(len(curve) - 2, (len(curve) - 1) // 2 - 1, -1):
        if curve[j + 1] > KNEE_RATIO * curve[j]:
            eps = curve[j]
            break
    # floor relative to the data's spread: duplicates (k-distance 0) must stay neighbours, and sklearn's
    # euclidean distance (|a|^2 + |b|^2 - 2ab) puts equal points up to ~1e-8 * |a| apart; below that floor
    # the clusters would depend on the order of the references
    floor = 1e-6 * max(float(dists.max()), 1.0)
    return float(max(eps * (1.0 + EPS_INFLATE), floor))


def cluster_references(refs: np.ndarray, config: ClusterConfig = ClusterConfig()) -> Clustering:
    """Cluster reference embeddings [n, D] (n >= 1) into centres."""
    from sklearn.cluster import DBSCAN

    refs = np.asarray(refs, dtype=np.float64)
    n = refs.shape[0]
    if n < config.min_samples:  # DBSCAN cannot form a cluster: the mean is the only reference
        return Clustering(refs.mean(axis=0, keepdims=True), np.full(n, -1), 0, n, True, None)
    space = clustering_space(refs, config)
    eps = config.eps if config.eps is not None else k_distance_eps(space, config.min_samples - 1)
    labels = DBSCAN(eps=eps, min_samples=config.min_samples).fit_predict(space)
    ids = sorted(set(labels.tolist()) - {-1})
    n_noise = int(np.sum(labels == -1))
    if not ids:
        return Clustering(refs.mean(axis=0, keepdims=True), labels, 0, n_noise, True, float(eps))
    centres = np.stack([refs[labels == c].mean(axis=0) for c in ids])
    return Clustering(centres, labels, len(ids), n_noise, False, float(eps))
