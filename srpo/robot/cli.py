"""`srpo robot`: record and deploy in one process (no ROS) on the simulated xArm (default) or a real xArm 7."""

import argparse


def _rig_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("sim", "xarm"), default="sim",
                   help="sim: MuJoCo xArm 7 (default); xarm: a real arm via xarm-python-sdk + RealSense")
    p.add_argument("--task", default="lift",
                   help="sim task (lift, place) or, on a real arm, the instruction text stored with episodes")
    p.add_argument("--episodes", type=int, default=10, help="number of episodes (default 10)")
    p.add_argument("--seed", type=int, default=0, help="sim: seed for object placement and expert noise")
    p.add_argument("--rate", type=float, default=20.0, help="control rate in Hz (default 20; real xArm: 100+)")
    p.add_argument("--max-steps", type=int, default=200, help="ticks per episode at most (default 200)")
    p.add_argument("--image-size", type=int, nargs=2, default=(96, 128), metavar=("H", "W"),
                   help="camera image size recorded (default 96 128)")
    p.add_argument("--xarm-ip", default="192.168.1.185", help="xarm backend: controller IP")
    p.add_argument("--realsense", nargs="*", default=(), metavar="SERIAL",
                   help="xarm backend: RealSense serials for camera0, camera1, ... (default: the first found)")


def _rig_kwargs(args) -> dict:
    return dict(backend=args.backend, task=args.task, episodes=args.episodes, seed=args.seed,
                control_rate_hz=args.rate, max_steps=args.max_steps, camera_height=args.image_size[0],
                camera_width=args.image_size[1], xarm_ip=args.xarm_ip, realsense_serials=tuple(args.realsense))


def _record(args) -> int:
    from srpo.robot.runner import RecordConfig, record_episodes
    from srpo.store import EpisodeStore

    config = RecordConfig(**_rig_kwargs(args), out=args.out, teleop=args.teleop, expert_noise=args.expert_noise,
                          calibration=args.calibration)
    path = record_episodes(config)
    store = EpisodeStore.open(path)
    infos = store.episodes()[-config.episodes:]
    done = [e for e in infos if e.success is not None]
    print(f"recorded {len(infos)} episodes into {path} ({sum(e.success for e in done)}/{len(done)} successful, "
          f"{sum(e.length for e in infos)} steps); store now holds {store.num_episodes} episodes")
    return 0


def _deploy(args) -> int:
    from srpo.robot.runner import DeployConfig, deploy_policy

    config = DeployConfig(**_rig_kwargs(args), policy=args.policy, device=args.device, out=args.out)
    results = deploy_policy(config)
    rate = results.success_rate
    n = len(results.episodes)
    aborted = sum(r.status == "aborted" for r in results.episodes)
    if rate != rate:  # NaN: a real arm has no success predicate
        print(f"ran {n} episodes ({aborted} aborted) in {results.seconds:.1f} s; no success labels on a real arm: "
              "record with --out and label the episodes with `srpo data`")
    else:
        print(f"success rate {rate:.3f} over {n} episodes ({aborted} aborted) in {results.seconds:.1f} s")
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    rec = sub.add_parser("record", help="record teleop / scripted-expert episodes into an episode store",
                         description="Record episodes (arm state, cameras, commanded actions, success labels) "
                                     "into a Zarr episode store. On the sim the scripted noisy expert drives "
                                     "the arm and the task predicate labels success.")
    _rig_args(rec)
    rec.add_argument("--out", required=True, help="episode store to create or append to (e.g. datasets/lift.zarr)")
    rec.add_argument("--teleop", choices=("expert", "keyboard", "spacemouse"), default="expert",
                     help="command source: expert (sim only, default), keyboard or spacemouse")
    rec.add_argument("--expert-noise", type=float, default=1.0,
                     help="scripted expert noise scale: 0 clean, 1 (default) fails about 40%% on lift")
    rec.add_argument("--calibration", default=None, help="calibration YAML stored in the store's attrs")
    rec.set_defaults(func=_record)
    dep = sub.add_parser("deploy", help="run a LeRobot policy checkpoint on the arm; reports the sim success rate",
                         description="Run a LeRobot policy (any type: ACT, diffusion, pi0, pi0-FAST...) with "
                                     "every command through the safety filter.")
    _rig_args(dep)
    dep.add_argument("--policy", required=True, help="LeRobot checkpoint directory (save_pretrained output)")
    dep.add_argument("--device", default="cpu", help="torch device for inference (default cpu)")
    dep.add_argument("--out", default=None, help="also record the rollouts into this store (source 'policy')")
    dep.set_defaults(func=_deploy)
