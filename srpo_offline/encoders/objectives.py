"""The training loop of `fit_encoder` and its four objectives (see `srpo_offline.encoders.fitting`).

Every objective samples a batch of steps, embeds them with the network being fitted and returns a loss; the
loop is the same for all. Frames get a random shift of up to `shift` pixels (replicate padding).
"""

import copy

import numpy as np

VIP_GAMMA = 0.98  # VIP's discount (Ma et al. 2023)
TCN_POSITIVE = 2  # steps: a positive is at most this far from the anchor
TCN_NEGATIVE = 0.2  # fraction of the episode: a negative is at least this far (and >= 8 steps)
TCN_MARGIN = 1.0  # triplet margin
LATENT_HORIZON = 5  # steps ahead the latent predictor predicts
EMA = 0.99  # the latent objective's target-encoder momentum


class Batches:
    """Random steps of the fit's episodes, as network inputs (shifted frames or state rows)."""

    def __init__(self, data, cfg, rng: np.random.Generator):
        import torch

        self.torch = torch
        self.inputs, self.cfg, self.rng = data.inputs, cfg, rng
        self.lengths = np.array([len(x) for x in data.inputs])
        self.image = cfg.encoder == "learned"
        self.all = np.arange(len(data.inputs))
        self.success = np.array([s is True for s in data.success])
        tasks = np.array(data.tasks)
        self.task_successes = {t: self.all[(tasks == t) & self.success] for t in set(data.tasks)}
        self.tasks = tasks
        self.horizon = float(np.median(self.lengths[self.success]))  # steps-to-go scale: the median success length

    def episodes(self, n: int, successes_only: bool) -> np.ndarray:
        pool = self.all[self.success] if successes_only else self.all
        return self.rng.choice(pool, n)

    def times(self, eps: np.ndarray) -> np.ndarray:
        return np.floor(self.rng.random(len(eps)) * self.lengths[eps]).astype(int)

    def goals(self, eps: np.ndarray) -> np.ndarray:
        """A random successful episode of each episode's task."""
        return np.array([self.rng.choice(self.task_successes[self.tasks[e]]) for e in eps])

    def get(self, eps: np.ndarray, ts: np.ndarray):
        torch = self.torch
        if not self.image:
            return torch.from_numpy(np.stack([self.inputs[e][t] for e, t in zip(eps, ts)]))
        from srpo_offline.encoders.networks import frames_tensor

        x = frames_tensor(np.stack([self.inputs[e][t] for e, t in zip(eps, ts)]))
        s = self.cfg.shift
        if s <= 0:
            return x
        padded = torch.nn.functional.pad(x, (s, s, s, s), mode="replicate")
        size = x.shape[-1]
        off = self.rng.integers(0, 2 * s + 1, size=(len(x), 2))
        return torch.stack([padded[i, :, a:a + size, b:b + size] for i, (a, b) in enumerate(off)])


def distance(a, b):
    return ((a - b) ** 2).sum(-1).add(1e-8).sqrt()


def goal_distance_loss(net, b: Batches, n: int):
    """|f(frame) - f(a success's ending)| regressed onto the frame's steps-to-go / median success length."""
    import torch

    eps = b.episodes(n, successes_only=True)
    ts = b.times(eps)
    goals = b.goals(eps)
    z = net(b.get(eps, ts))
    zg = net(b.get(goals, b.lengths[goals] - 1))
    target = torch.from_numpy((b.lengths[eps] - 1 - ts) / b.horizon).float()
    return torch.nn.functional.smooth_l1_loss(distance(z, zg), target)


def tcn_loss(net, b: Batches, n: int):
    """Triplets within one episode: an anchor, a positive within TCN_POSITIVE steps, a negative far in time."""
    import torch

    eps = b.episodes(n, successes_only=False)
    ts = b.times(eps)
    lengths = b.lengths[eps]
    pos = np.clip(ts + b.rng.integers(-TCN_POSITIVE, TCN_POSITIVE + 1, n), 0, lengths - 1)
    gap = np.maximum(8, (TCN_NEGATIVE * lengths).astype(int))
    neg = np.where(b.rng.random(n) < 0.5, ts - gap - b.rng.integers(0, 10, n), ts + gap + b.rng.integers(0, 10, n))
    neg = np.where((neg < 0) | (neg >= lengths), np.where(ts < lengths / 2, lengths - 1, 0), neg)
    za, zp, zn = net(b.get(eps, ts)), net(b.get(eps, pos)), net(b.get(eps, neg))
    return torch.relu(distance(za, zp) - distance(za, zn) + TCN_MARGIN).mean()


def vip_loss(net, b: Batches, n: int):
    """VIP: (1 - g) E[d(o_s, goal)] + log E[exp(1 + g d(o_t+1, goal) - d(o_t, goal))], goal = the success's end."""
    import torch

    eps = b.episodes(n, successes_only=True)
    last = b.lengths[eps] - 1
    s = np.floor(b.rng.random(n) * np.maximum(last, 1)).astype(int)
    t = np.minimum(s + np.floor(b.rng.random(n) * np.maximum(last - s, 1)).astype(int), np.maximum(last - 1, 0))
    zg = net(b.get(eps, last))
    d_s, d_t, d_t1 = (distance(net(b.get(eps, k)), zg) for k in (s, t, np.minimum(t + 1, last)))
    return (1 - VIP_GAMMA) * d_s.mean() + torch.logsumexp(1 + VIP_GAMMA * d_t1 - d_t, 0) - np.log(n)


class Latent:
    """Latent prediction: predictor(f(o_t)) matches the EMA target's embedding of o_t+k (cosine, BYOL style)."""

    def __init__(self, net, dim: int):
        from torch import nn

        self.target = copy.deepcopy(net).requires_grad_(False)
        self.predictor = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))

    def loss(self, net, b: Batches, n: int):
        import torch

        eps = b.episodes(n, successes_only=False)
        ts = b.times(eps)
        ahead = np.minimum(ts + LATENT_HORIZON, b.lengths[eps] - 1)
        p = torch.nn.functional.normalize(self.predictor(net(b.get(eps, ts))), dim=-1)
        with torch.no_grad():
            y = torch.nn.functional.normalize(self.target(b.get(eps, ahead)), dim=-1)
        return (2 - 2 * (p * y).sum(-1)).mean()

    def after_step(self, net):
        import torch

        with torch.no_grad():
            for pt, po in zip(self.target.parameters(), net.parameters()):
                pt.mul_(EMA).add_(po, alpha=1 - EMA)


def train(net, data, cfg, progress: bool = True) -> list[float]:
    """cfg.steps Adam updates of `net` on cfg.objective; returns the loss every 50 steps."""
    import torch
    from tqdm.auto import tqdm

    rng = np.random.default_rng(cfg.seed)
    b = Batches(data, cfg, rng)
    latent = Latent(net, cfg.dim) if cfg.objective == "latent" else None
    params = list(net.parameters()) + (list(latent.predictor.parameters()) if latent else [])
    opt = torch.optim.Adam(params, lr=cfg.lr)
    loss_fn = {"goal_distance": goal_distance_loss, "tcn": tcn_loss, "vip": vip_loss}.get(cfg.objective)
    losses = []
    net.train()
    for step in tqdm(range(cfg.steps), desc=f"fit {cfg.encoder} ({cfg.objective})", disable=not progress):
        loss = latent.loss(net, b, cfg.batch_size) if latent else loss_fn(net, b, cfg.batch_size)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if latent:
            latent.after_step(net)
        if step % 50 == 0 or step == cfg.steps - 1:
            losses.append(float(loss.detach()))
    net.eval()
    return losses
