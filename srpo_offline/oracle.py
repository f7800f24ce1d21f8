"""Oracle progress from the simulator's privileged state: the upper bound on what any progress signal can give.

Sim recordings store the cube's pose (`object0_pos`) and the pad's position (`target0_pos`) with every step,
state a real recording lacks. From them and the robot's own state (`robot0_eef_pos`, the TCP; and
`robot0_gripper_width`) the oracle scores each step by stage, the stages nested so that a later stage always
scores higher than any point of an earlier one: R = (stage + fraction) / number of stages, in [0, 1].

  approach  fraction = normalised reduction of the TCP-to-cube distance, 1 - d(t) / d(0)
  grasp     TCP at the cube (within NEAR), gripper closing: fraction of the way from open to the cube's width
  lift      (lift) cube held: cube height / the task's lift height
  carry     (place) cube held: half for lifting it (to PLACE_HEIGHT), half for the normalised reduction of the
            cube-to-pad distance in the table plane
  place     (place) cube held over the pad: half for lowering it to the table, half for opening to release
and R = 1 wherever the task's own success predicate holds (`srpo.robot.sim.tasks.SimTask.success`, restated on
the stored state). Knocking the cube away or dropping it lowers R: the oracle scores the state, not the time.

`compute_oracle_run` stores it as a reward run (derived/<name>, the arrays and provenance layout of
`compute_reward_run`), with advantages and AWR weights from the same estimators, so training takes it by name.
"""

from dataclasses import dataclass

import numpy as np

from srpo.errors import UserFacingError
from srpo.robot.sim.scene import CUBE_HALF
from srpo.robot.sim.tasks import TARGET_RADIUS, TASKS, SimTask
from srpo_offline.advantages import DEFAULT_BETA, DEFAULT_W_MAX, AdvantageConfig, check_advantage_config

ROBOT_KEYS = ("robot0_eef_pos", "robot0_gripper_width")
CUBE_KEY = "object0_pos"  # privileged: the cube's centre (m, base frame)
PAD_KEY = "target0_pos"  # privileged: the pad's centre (m, base frame); only `place` needs it
CUBE_WIDTH = 2 * CUBE_HALF  # gripper width when closed on the cube (m)
NEAR = 0.03  # m: TCP within this of the cube centre is at the cube (grasping the expert's way: 7-8 mm)
HOLD_BELOW = 0.01  # m: a gripper closed more than this below the cube's width closed on air, not the cube
HOLD_ABOVE = 0.008  # m: closed to within this above the cube's width holds it (measured when held: 38-44 mm)
RELEASE_ABOVE = 0.01  # m: open this far beyond the cube's width is released (the place success predicate)
RESTING = 0.005  # m: cube centre within this of CUBE_HALF rests on the table (the place success predicate)
PLACE_HEIGHT = 0.10  # m: cube bottom height that counts as carried high enough (and lowering starts from)
DISTANCE_FLOOR = 1e-6  # m: a start distance below this leaves nothing to reduce (fraction 1)
STAGES = {"lift": ("approach", "grasp", "lift"), "place": ("approach", "grasp", "carry", "place")}
ORACLE_VERSION = 1  # bump when the oracle's definition changes


def sim_task(task: str) -> SimTask:
    """The sim task named `task` or whose instruction is `task` (stores keep the instruction text)."""
    for t in TASKS.values():
        if task in (t.name, t.instruction):
            return t
    known = ", ".join(f"{t.name} ({t.instruction!r})" for t in TASKS.values())
    raise UserFacingError(f"oracle progress knows the sim tasks {known}, not {task!r}")


def _reduction(d: np.ndarray, d0: float) -> np.ndarray:
    """1 - d / d0 clipped to [0, 1]: the normalised reduction of a distance from its start."""
    return np.ones_like(d) if d0 < DISTANCE_FLOOR else np.clip(1.0 - d / d0, 0.0, 1.0)


@dataclass(frozen=True, eq=False)
class OracleTrace:
    """One episode's oracle: the stage index and within-stage fraction per step, and the progress they give."""

    stage: np.ndarray  # int [T]: index into STAGES[task]; len(STAGES[task]) where the success predicate holds
    fraction: np.ndarray  # float [T] in [0, 1]
    progress: np.ndarray  # float [T] in [0, 1]: (stage + fraction) / number of stages, 1 on success


def oracle_trace(arrays: dict, task: str) -> OracleTrace:
    """Stage-wise oracle of one episode from its store arrays (robot0_eef_pos, robot0_gripper_width,
    object0_pos, and target0_pos for place)."""
    t = sim_task(task)
    needed = (*ROBOT_KEYS, CUBE_KEY, *((PAD_KEY,) if t.name == "place" else ()))
    missing = [k for k in needed if k not in arrays]
    if missing:
        raise UserFacingError(f"oracle progress needs {', '.join(missing)}: the simulator's privileged state, "
                              "stored by sim recordings (`srpo robot record` on the sim); real recordings lack it")
    eef = np.asarray(arrays["robot0_eef_pos"], dtype=np.float64).reshape(-1, 3)
    width = np.asarray(arrays["robot0_gripper_width"], dtype=np.float64).reshape(len(eef), -1)[:, 0]
    cube = np.asarray(arrays[CUBE_KEY], dtype=np.float64).reshape(-1, 3)
    if not len(eef):
        raise UserFacingError("oracle progress of an empty episode: it has no steps")
    d_cube = np.linalg.norm(eef - cube, axis=1)
    near = d_cube < NEAR
    held = near & (width > CUBE_WIDTH - HOLD_BELOW) & (width < CUBE_WIDTH + HOLD_ABOVE)
    opening = near & (width >= CUBE_WIDTH + HOLD_ABOVE)  # at the cube with the gripper (still) open
    height = cube[:, 2] - CUBE_HALF  # the cube's bottom above the table
    w_open = max(float(width[0]), CUBE_WIDTH + HOLD_ABOVE)  # episodes start with the gripper open

    stage = np.zeros(len(eef), dtype=int)
    fraction = _reduction(d_cube, float(d_cube[0]))
    stage[opening] = 1
    fraction[opening] = np.clip((w_open - width[opening]) / (w_open - CUBE_WIDTH), 0.0, 1.0)
    if t.name == "lift":
        stage[held] = 2
        fraction[held] = np.clip(height[held] / t.lift_height, 0.0, 1.0)
        success = height > t.lift_height
    else:
        pad = np.asarray(arrays[PAD_KEY], dtype=np.float64).reshape(-1, 3)
        d_pad = np.linalg.norm(cube[:, :2] - pad[:, :2], axis=1)
        stage[held] = 2
        fraction[held] = 0.5 * np.clip(height[held] / PLACE_HEIGHT, 0.0, 1.0) + 0.5 * _reduction(
            d_pad[held], float(d_pad[0]))
        on_pad = d_pad < TARGET_RADIUS
        placing = on_pad & near & (width > CUBE_WIDTH - HOLD_BELOW)  # held or opening above / on the pad
        stage[placing] = 3
        fraction[placing] = 0.5 * np.clip(1.0 - height[placing] / PLACE_HEIGHT, 0.0, 1.0) + 0.5 * np.clip(
            (width[placing] - CUBE_WIDTH) / RELEASE_ABOVE, 0.0, 1.0)
        success = on_pad & (cube[:, 2] < CUBE_HALF + RESTING) & (width > CUBE_WIDTH + RELEASE_ABOVE)
    n_stages = len(STAGES[t.name])
    stage[success] = n_stages
    fraction[success] = 0.0
    progress = np.minimum((stage + fraction) / n_stages, 1.0)
    return OracleTrace(stage=stage, fraction=fraction, progress=progress)


def oracle_progress(arrays: dict, task: str) -> np.ndarray:
    """R in [0, 1] per step of one episode (see the module docstring); `task` is a sim task name or instruction."""
    return oracle_trace(arrays, task).progress


def oracle_keys(task: str) -> list[str]:
    """The store keys oracle progress reads for this task."""
    return [*ROBOT_KEYS, CUBE_KEY, *((PAD_KEY,) if sim_task(task).name == "place" else ())]


def compute_oracle_run(store_path, name: str = "oracle", advantage: AdvantageConfig = AdvantageConfig(),
                       beta: float = DEFAULT_BETA, w_max: float = DEFAULT_W_MAX, overwrite: bool = False) -> dict:
    """Oracle progress of every episode of a sim store, with advantages and AWR weights, written to
    derived/<name> in the layout of `compute_reward_run` (plus `stage`); returns the provenance."""
    from srpo.store import EpisodeStore
    from srpo_offline.reward_run import write_progress_run

    check_advantage_config(advantage)
    store = EpisodeStore.open(store_path, mode="a")
    if name in store.derived_runs() and not overwrite:
        raise UserFacingError(f"derived/{name} already exists in {store_path}; choose another name or overwrite=True")
    episodes = store.episodes()
    if not episodes:
        raise UserFacingError(f"{store_path} holds no episodes; record some first")
    traces = []
    for e in episodes:
        keys = oracle_keys(e.task)
        missing = [k for k in keys if k not in store.data]
        if missing:
            raise UserFacingError(f"{store_path} has no {', '.join(missing)}: oracle progress needs the simulator's "
                                  "privileged state, which sim recordings store (real recordings lack it)")
        traces.append(oracle_trace(store.episode(e.index, keys=keys), e.task))
    provenance = {
        "encoder": "oracle", "model": None, "source": "simulator state",
        "keys": sorted({k for e in episodes for k in oracle_keys(e.task)}),
        "stages": {task: list(STAGES[sim_task(task).name]) for task in dict.fromkeys(e.task for e in episodes)},
        "oracle_version": ORACLE_VERSION,
    }
    return write_progress_run(store, name, [tr.progress for tr in traces], advantage, beta, w_max, provenance,
                              extra={"stage": [tr.stage for tr in traces]}, overwrite=overwrite)
