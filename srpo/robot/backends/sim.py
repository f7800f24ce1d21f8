"""`--backend sim`: the MuJoCo xArm 7 on a table, with a scripted expert and the task's success predicate."""

from dataclasses import dataclass

from srpo.errors import UserFacingError
from srpo.robot.rig import BackendConfig, Rig

SIM_CAMERAS = ("front", "wrist")  # MuJoCo cameras recorded as camera0, camera1


@BackendConfig.register_subclass("sim")
@dataclass(frozen=True)
class SimBackendConfig(BackendConfig):
    """The simulated xArm 7 (MuJoCo); the task, seed, rate and image size come from the rig config."""

    def instruction(self, task: str) -> str:
        from srpo.robot.sim.tasks import TASKS

        if task not in TASKS:
            raise UserFacingError(f"unknown sim task {task!r}; choose one of {sorted(TASKS)}")
        return TASKS[task].instruction

    def build(self, rig) -> Rig:
        from srpo.robot import teleop
        from srpo.robot.cameras import SimCamera
        from srpo.robot.sim.arm import SimArm, SimArmConfig

        arm = SimArm(SimArmConfig(task=rig.task, control_rate_hz=rig.control_rate_hz,
                                  camera_height=rig.camera_height, camera_width=rig.camera_width, seed=rig.seed))
        cameras = {f"camera{i}": SimCamera(arm, name) for i, name in enumerate(SIM_CAMERAS)}

        def make_expert(noise: float, seed: int, operator: str = "expert"):
            return teleop.ScriptedExpert(rig.task, teleop.ExpertConfig(noise=noise), seed=seed, profile=operator)

        return Rig(arm, cameras, success_fn=arm.success, is_simulated=True, clock=lambda: arm.time,
                   reset=arm.reset, make_expert=make_expert, operators=tuple(teleop.OPERATOR_PROFILES))
