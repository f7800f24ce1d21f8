"""`srpo libero train|eval`: online SRPO on LIBERO with OpenVLA*, and the standard evaluation protocol."""

from __future__ import annotations

import argparse

DEFAULT_POLICY = "Sylvest/OpenVLA-AC-PD-1traj-libero-{suite}"
SUITE_POLICY_NAME = {"spatial": "spatial", "object": "object", "goal": "goal", "10": "long"}  # no LIBERO-90 one


def _task_ids(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        from srpo.errors import UserFacingError

        raise UserFacingError(f"--tasks takes comma-separated task ids like 0,3,7; got {text!r}") from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", default="spatial", choices=["spatial", "object", "goal", "10", "90"],
                   help="LIBERO suite (10 = LIBERO-Long)")
    p.add_argument("--policy", default=None,
                   help="OpenVLA* checkpoint folder or hub id (default: Sylvest/OpenVLA-AC-PD-1traj-libero-<suite>); "
                        "'tiny' = a random tiny model of the same structure (smoke tests)")
    p.add_argument("--unnorm-key", default=None, help="dataset statistics key when the checkpoint has several")
    p.add_argument("--tasks", default=None, help="comma-separated task ids (default: all tasks of the suite)")
    p.add_argument("--num-envs", type=int, default=8, help="LIBERO environments, one worker process each")
    p.add_argument("--in-process", action="store_true", help="step the envs in this process (debugging)")
    p.add_argument("--max-steps", type=int, default=None,
                   help="env steps per episode (default per suite: spatial 220, object 280, goal 300, 10 520, 90 400)")
    p.add_argument("--device", default=None, help="policy device (default: cuda when available)")
    p.add_argument("--bf16", action="store_true", help="run the policy in bfloat16")
    p.add_argument("--seed", type=int, default=0)


def _policy(args) -> str:
    if args.policy:
        return args.policy
    if args.suite not in SUITE_POLICY_NAME:
        from srpo.errors import UserFacingError

        raise UserFacingError(f"no published OpenVLA* checkpoint for libero_{args.suite}: pass --policy")
    return DEFAULT_POLICY.format(suite=SUITE_POLICY_NAME[args.suite])


def _device(args) -> dict:
    return {"device": args.device} if args.device else {}


def run_train(args) -> int:
    from srpo_online_sim.trainer import TrainConfig, Trainer

    config = TrainConfig(
        suite=args.suite, policy=_policy(args), unnorm_key=args.unnorm_key, output_dir=args.output,
        steps=args.steps, tasks=_task_ids(args.tasks), groups_per_step=args.groups_per_step,
        n_rollouts=args.n_rollouts, keep_mixed_only=not args.keep_all_groups, temperature=args.temperature,
        reward_variant=args.variant, alpha=args.alpha, encoder=args.encoder, encoder_model=args.encoder_model,
        clip_low=args.clip_low, clip_high=args.clip_high, kl_coef=args.kl_coef, lr=args.lr,
        grad_clip=args.grad_clip, micro_batch=args.micro_batch, num_envs=args.num_envs,
        subprocess=not args.in_process, max_steps=args.max_steps, save_every=args.save_every, seed=args.seed,
        bf16=args.bf16, **_device(args),
    )
    trainer = Trainer(config)
    if args.resume and trainer.resume():
        print(f"resumed at step {trainer.step}")
    trainer.train()
    print(f"done: checkpoints and metrics.jsonl in {args.output}")
    return 0


def run_eval(args) -> int:
    from srpo_online_sim.evaluate import EvalConfig, evaluate, markdown_table

    config = EvalConfig(
        suite=args.suite, policy=_policy(args), unnorm_key=args.unnorm_key, output_dir=args.output,
        tasks=_task_ids(args.tasks), trials=args.trials, temperature=args.temperature, num_envs=args.num_envs,
        subprocess=not args.in_process, max_steps=args.max_steps, seed=args.seed, bf16=args.bf16, **_device(args),
    )
    report = evaluate(config)
    print(markdown_table(report))
    print(f"results.json, results.md, results.png in {args.output}")
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser("train", help="online SRPO (or GRPO with --alpha 0) on LIBERO rollouts",
                           description="Roll OpenVLA* out in LIBERO, reward failures by world-model progress "
                                       "towards the task's successes, and update with the clipped objective.")
    _common(train)
    train.add_argument("--output", default="runs/libero", help="checkpoints, metrics.jsonl, TensorBoard logs")
    train.add_argument("--steps", type=int, default=100, help="training steps")
    train.add_argument("--groups-per-step", type=int, default=8, help="(task, initial state) groups per step")
    train.add_argument("--n-rollouts", type=int, default=8, help="rollouts per group")
    train.add_argument("--keep-all-groups", action="store_true",
                       help="also train on groups whose rollouts all succeed or all fail")
    train.add_argument("--temperature", type=float, default=1.6, help="sampling temperature")
    train.add_argument("--variant", default="paper", choices=["paper", "siirl", "nearest"],
                       help="failure reward of srpo_offline.progress.trajectory_rewards")
    train.add_argument("--alpha", type=float, default=0.8, help="failure reward scale; 0 = plain GRPO")
    train.add_argument("--encoder", default="vjepa2", choices=["vjepa2", "image", "pixel"])
    train.add_argument("--encoder-model", default=None, help="encoder hub id or folder")
    train.add_argument("--clip-low", type=float, default=0.2)
    train.add_argument("--clip-high", type=float, default=0.28)
    train.add_argument("--kl-coef", type=float, default=0.0, help="KL to the initial policy (0: none, as siiRL)")
    train.add_argument("--lr", type=float, default=5e-6, help="AdamW learning rate")
    train.add_argument("--grad-clip", type=float, default=1.0)
    train.add_argument("--micro-batch", type=int, default=8, help="decisions per forward/backward")
    train.add_argument("--save-every", type=int, default=10, help="checkpoint every k steps")
    train.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --output")
    train.set_defaults(func=run_train)

    ev = sub.add_parser("eval", help="standard protocol: tasks x 50 official initial states, greedy",
                        description="Evaluate OpenVLA* on a LIBERO suite; writes results.json/.md/.png.")
    _common(ev)
    ev.add_argument("--output", default="runs/libero_eval", help="folder for results.json, results.md, results.png")
    ev.add_argument("--trials", type=int, default=50, help="official initial states per task (max 50)")
    ev.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (the protocol)")
    ev.set_defaults(func=run_eval)
