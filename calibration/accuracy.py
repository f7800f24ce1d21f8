"""Accuracy of the calibration on the simulated rig, against ground truth (the numbers in docs/calibration.md).

    PYTHONPATH=. python -m calibration.accuracy [--trials 3]

For each mount, number of views and arm positioning noise, captures views with the real-robot pose planner
(`poses_around`), fits intrinsics and hand-eye, and reports the camera pose error (mm, deg) and the focal
length error (%), as the mean over trials with different seeds. Runs every hand-eye method the installed
OpenCV offers.
"""

import argparse

import cv2
import numpy as np

from calibration.board import BoardDetector
from calibration.capture import board_poses, capture_views, poses_around
from calibration.geometry import make_T, pose_error, rotation_about
from calibration.handeye import METHODS, solve_handeye
from calibration.intrinsics import calibrate_intrinsics
from calibration.sim_rig import SimRig, SimRigConfig
from srpo.errors import UserFacingError

PIVOT = {"eye_in_hand": 0.4, "eye_to_hand": 0.08}


def run_trial(
    mount: str, views: int, noise_mm: float, noise_deg: float, seed: int, methods: list[str]
) -> dict:
    rig = SimRig(SimRigConfig(mount=mount, pose_noise_mm=noise_mm, pose_noise_deg=noise_deg, seed=seed))
    try:
        rig.move_to(rig.gripper_pose_for_view(make_T(rotation_about([1, 0, 0], np.pi), [0.0, 0.0, 0.4])))
        poses = poses_around(rig.eef_pose(), views, np.random.default_rng(seed), pivot_distance=PIVOT[mount])
        captures = capture_views(rig, poses, BoardDetector(rig.config.board), desc=f"{mount} seed {seed}")
        intr, _ = calibrate_intrinsics([c.detection for c in captures], (rig.config.width, rig.config.height))
        pairs = board_poses(captures, intr)
        out = {"fx_err_pct": 100 * abs(intr.fx - rig.true_intrinsics()["fx"]) / rig.true_intrinsics()["fx"]}
        for method in methods:
            result = solve_handeye([c.T_base_ee for c, _ in pairs], [T for _, T in pairs], mount, method)
            dt, dr = pose_error(result.T, rig.true_camera_pose())
            out[method] = (dt * 1000, dr)
        return out
    finally:
        rig.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=3, help="seeds per setting")
    parser.add_argument("--views", type=int, nargs="+", default=[10, 20], help="numbers of views to try")
    args = parser.parse_args()
    methods = list(METHODS) if hasattr(cv2, "calibrateHandEye") else ["park"]
    print(f"OpenCV {cv2.__version__}; methods: {', '.join(methods)}")
    print("| mount | views | arm noise | fx err % | " + " | ".join(f"{m} mm / deg" for m in methods) + " |")
    print("|---|---|---|---|" + "---|" * len(methods))
    for mount in ("eye_in_hand", "eye_to_hand"):
        for views in args.views:
            for noise_mm, noise_deg in ((0.0, 0.0), (0.1, 0.02), (0.5, 0.1)):
                trials = []
                for seed in range(args.trials):
                    try:
                        trials.append(run_trial(mount, views, noise_mm, noise_deg, seed, methods))
                    except UserFacingError as err:
                        print(f"  {mount} {views} views seed {seed}: {err}")
                fx = np.mean([t["fx_err_pct"] for t in trials])
                cells = [
                    f"{np.mean([t[m][0] for t in trials]):.2f} / {np.mean([t[m][1] for t in trials]):.3f}"
                    for m in methods
                ]
                print(
                    f"| {mount} | {views} | {noise_mm} mm, {noise_deg} deg | {fx:.3f} | "
                    + " | ".join(cells)
                    + " |"
                )


if __name__ == "__main__":
    main()
