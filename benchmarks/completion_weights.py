"""Where do the AWR weights of a reward run fall: on the steps that complete a success, or before them?

Reads the progress runs of one store of `srpo bench offline` (OUT/seed<k>/store.zarr, with derived/oracle and the
SRPO runs) and, for each progress run and advantage estimator, recomputes the AWR weights with the project's own
`progress_advantages` (nothing is written) and prints: the mean weight of the last K steps of successful episodes
(the release on `place`) and of their other steps, the same for failures, the share of the successes' last K
steps weighted above the median step, the successes' share of the total weight, the effective sample size of the
weights (fraction of the steps), the mean final progress R(T) of successes / failures, and the per-episode Spearman
correlation of the run's progress with the oracle's (median over successes / failures). See docs/offline_bench.md, "The completing steps".

    python benchmarks/completion_weights.py outputs/demo_place/seed1/store.zarr --runs oracle srpo srpo-state \
        --estimators gae shaped final paper
"""

import argparse

import numpy as np


def completion_row(weights: list[np.ndarray], success: np.ndarray, last: int) -> dict:
    """The statistics above for one run's per-episode weights."""
    w_all = np.concatenate(weights)
    ok = [w for w, s in zip(weights, success) if s]
    bad = [w for w, s in zip(weights, success) if not s]
    tail = np.concatenate([w[-last:] for w in ok])
    return {
        "success_last": float(np.mean([w[-last:].mean() for w in ok])),
        "success_rest": float(np.mean([w[:-last].mean() for w in ok])),
        "failure_last": float(np.mean([w[-last:].mean() for w in bad])) if bad else float("nan"),
        "failure_rest": float(np.mean([w[:-last].mean() for w in bad])) if bad else float("nan"),
        "last_above_median": float(np.mean(tail > np.median(w_all))),
        "success_mass": float(np.concatenate(ok).sum() / w_all.sum()),
        "ess": float(w_all.sum() ** 2 / (w_all**2).sum() / len(w_all)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("store", help="a store of `srpo bench offline` (has derived/oracle)")
    parser.add_argument("--runs", nargs="+", default=["oracle", "srpo"], help="progress runs to read")
    parser.add_argument("--estimators", nargs="+", default=["gae", "shaped"], help="advantage estimators to compare")
    parser.add_argument("--last", type=int, default=15, help="steps at the end of an episode that count as completing")
    args = parser.parse_args()
    from srpo.store import EpisodeStore
    from srpo_offline.advantages import AdvantageConfig, progress_advantages
    from srpo_offline.fidelity import reward_fidelity
    from srpo_offline.reward_run import store_terminal

    store = EpisodeStore.open(args.store)
    success = np.array([e.success is True for e in store.episodes()])
    print(f"{args.store}: {len(success)} episodes, {success.sum()} successful; last {args.last} steps")
    print("| run | estimator | success: last / rest | failure: last / rest | last above median | success mass | "
          "ESS | R(T) succ / fail | Spearman with oracle (succ / fail) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for run in args.runs:
        arrays, _ = store.read_derived(run)
        split = store.episode_ends[:-1]
        progress = np.split(np.asarray(arrays["progress"], dtype=np.float64), split)
        distance = np.split(np.asarray(arrays["distance"], dtype=np.float64), split)
        fid = reward_fidelity(store, run)["spearman"] if run != "oracle" else None
        rho = f"{fid['success']['median']:.2f} / {fid['failure']['median']:.2f}" if fid else "–"
        ends = np.array([p[-1] for p in progress])
        final = f"{ends[success].mean():.2f} / {ends[~success].mean():.2f}"
        for estimator in args.estimators:
            adv = progress_advantages(progress, AdvantageConfig(estimator=estimator),
                                      terminal=store_terminal(store, distance))
            r = completion_row(adv.weight, success, args.last)
            print(f"| {run} | {estimator} | {r['success_last']:.2f} / {r['success_rest']:.2f} | "
                  f"{r['failure_last']:.2f} / {r['failure_rest']:.2f} | {r['last_above_median']:.2f} | "
                  f"{r['success_mass']:.2f} | {r['ess']:.2f} | {final} | {rho} |")


if __name__ == "__main__":
    main()
