"""`srpo robot`: record and deploy in one process (no ROS) on the simulated xArm (default) or a real xArm 7.

The commands' options are the fields of `srpo.robot.runner.RecordConfig` / `DeployConfig`.
"""

from srpo.robot.fake_xarm.server import FakeXArmConfig, serve_fake_xarm
from srpo.robot.runner import DeployConfig, RecordConfig


def record(config: RecordConfig) -> int:
    """record teleop / scripted-expert episodes into an episode store"""
    from srpo.robot.runner import record_episodes
    from srpo.store import EpisodeStore

    path = record_episodes(config)
    store = EpisodeStore.open(path)
    infos = store.episodes()[-config.episodes:]
    done = [e for e in infos if e.success is not None]
    print(f"recorded {len(infos)} episodes into {path} ({sum(e.success for e in done)}/{len(done)} successful, "
          f"{sum(e.length for e in infos)} steps); store now holds {store.num_episodes} episodes")
    return 0


def deploy(config: DeployConfig) -> int:
    """run a LeRobot policy checkpoint on the arm; reports the sim success rate"""
    from srpo.robot.runner import deploy_policy

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


def fake_xarm(config: FakeXArmConfig) -> int:
    """a fake xArm 7 controller on 127.0.0.1 (MuJoCo behind the SDK's protocol) for dry runs without the arm"""
    return serve_fake_xarm(config)


COMMANDS = {"record": record, "deploy": deploy, "fake-xarm": fake_xarm}
