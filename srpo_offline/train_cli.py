"""`srpo train ...`: offline advantage-weighted regression of LeRobot policies (paper appendix G.1).

Imports stay light: torch and LeRobot are imported when a command runs.
"""

import argparse

AWR_HELP = """Train a LeRobot policy on an episode store by advantage-weighted regression: each sample (the
observation at step t and the action chunk starting at t) is weighted by w = min(exp(A_t / beta), w_max) from
the reward run, and each batch minimises sum(w * loss) / sum(w). --weighting uniform trains the same policy on
the same data with equal weights (the SFT baseline). Checkpoints are LeRobot checkpoints
(OUT/checkpoints/last/pretrained_model) that LeRobot's factory and `srpo robot deploy` load."""


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("awr", help="AWR (or uniform SFT) training of pi0 / pi0-FAST / any LeRobot policy",
                       description=AWR_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("store", help="episode store (Zarr directory) to train on")
    p.add_argument("--policy", default="pi0",
                   help="LeRobot policy type: pi0, pi0fast, act, diffusion, smolvla, ... (default: pi0)")
    p.add_argument("--pretrained", default=None,
                   help="hub id or local checkpoint to fine-tune (default: lerobot/pi0_base for pi0, "
                   "lerobot/pi0fast-base for pi0fast, none for other types)")
    p.add_argument("--from-scratch", action="store_true", help="random initialisation, ignore --pretrained")
    p.add_argument("--out", required=True, help="output directory (checkpoints/, log.json, tensorboard/)")
    p.add_argument("--reward-run", default=None,
                   help="derived reward run with per-step advantages/weights (printed by `srpo reward compute`)")
    p.add_argument("--weighting", choices=("awr", "uniform"), default="awr",
                   help="awr: advantage-weighted; uniform: plain fine-tuning on the same data (default: awr)")
    p.add_argument("--beta", type=float, default=None,
                   help="AWR temperature; given (or with --w-max) weights are recomputed from the run's "
                   "advantages, otherwise the run's stored weights are used")
    p.add_argument("--w-max", type=float, default=None, help="clip for the AWR weights (default: the run's, or 20)")
    p.add_argument("--chunk-weight", choices=("start", "mean"), default="start",
                   help="weight of an action chunk: its first step's (default) or exp(mean advantage over it)")
    p.add_argument("--steps", type=int, default=1000, help="optimiser updates (default: 1000)")
    p.add_argument("--batch-size", type=int, default=8, help="samples per update (default: 8)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the policy's preset)")
    p.add_argument("--val-fraction", type=float, default=0.1, help="fraction of episodes held out (default: 0.1)")
    p.add_argument("--val-every", type=int, default=100, help="validate every N steps (default: 100)")
    p.add_argument("--save-every", type=int, default=500, help="checkpoint every N steps (default: 500)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from checkpoints/last")
    p.add_argument("--device", default="auto", help="auto | cuda | cpu (default: auto)")
    p.add_argument("--num-workers", type=int, default=None,
                   help="DataLoader workers reading the store (default: 0 on CPU, 4 on GPU)")
    p.add_argument("--seed", type=int, default=0, help="seed for split, data order and init (default: 0)")
    p.add_argument("--policy-option", action="append", default=[], metavar="KEY=VALUE",
                   help="LeRobot config override, repeatable, e.g. chunk_size=10 gradient_checkpointing=true")
    p.add_argument("--tokenizer", default=None,
                   help="local text tokenizer directory to use instead of the checkpoint's hub tokenizer")
    p.set_defaults(func=_awr)


def _awr(args) -> int:
    from srpo_offline.awr import DEFAULT_PRETRAINED, TrainConfig, train_awr
    from srpo_offline.awr.policy import parse_options, policy_type

    kind = policy_type(args.policy)
    pretrained = None if args.from_scratch else (args.pretrained or DEFAULT_PRETRAINED.get(kind))
    cfg = TrainConfig(
        store=args.store, out=args.out, policy=kind, pretrained=pretrained, reward_run=args.reward_run,
        weighting=args.weighting, beta=args.beta, w_max=args.w_max, chunk_weight=args.chunk_weight,
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, val_fraction=args.val_fraction,
        val_every=args.val_every, save_every=args.save_every, resume=args.resume, seed=args.seed,
        num_workers=args.num_workers, device=args.device, policy_options=parse_options(args.policy_option),
        tokenizer=args.tokenizer,
    )
    result = train_awr(cfg)
    last_val = f", held-out loss {result.val_loss[-1][1]:.4f}" if result.val_loss else ""
    print(f"checkpoint: {result.checkpoint}{last_val}")
    print(f"log: {result.log}; weights: ESS fraction {result.weight_stats['ess_fraction']:.3f}, "
          f"clipped {result.weight_stats['clipped_fraction']:.3f}")
    return 0
