"""The fitted encoders of `srpo bench online` (`learned`, and `state`: the privileged control), fitted on the warm
start's own demonstrations: the clean expert episodes BC learns from (`warm_start.collect_demos`, same seeds).

`learned` sees the reward camera's frames and the success labels only (no simulator state, no oracle value, no
rollout of the run it scores); `state` sees the simulator's per-step state, object pose included, so it is a
CONTROL with privileged information, never a result for a camera-only method. The fit goes through
`srpo_offline.encoders.fitting.fit_on_data`, cached under `cache` and keyed by the data and the fit's settings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srpo_offline.encoders.fitting import (
    STATE_KEYS,
    FitConfig,
    FitData,
    fit_on_data,
    resize_frames,
    state_sequence,
)
from srpo_online_sim.xarm_sim import SimXArmSpec


def demo_fit_data(spec: SimXArmSpec, encoder: str, camera: str, demos_per_task: int, seed: int,
                  size: int = 64) -> FitData:
    """The seed's warm-start demonstrations as an encoder's fit data: `camera`'s frames (learned) or the state
    features of every step, the final success state included (state); every demonstration is labelled a success."""
    from srpo_online_sim.warm_start import collect_demos

    demos = collect_demos(spec, demos_per_task, seed, camera=camera if encoder == "learned" else None)
    if encoder == "learned":
        inputs = [resize_frames(np.stack(d.frames), size) for d in demos]
        keys: tuple[str, ...] = ()
    else:
        keys = STATE_KEYS  # the simulator's observations hold all of them
        inputs = [state_sequence([*d.observations, d.last], keys) for d in demos]
    return FitData(inputs, [True] * len(demos), [spec.tasks[d.task_id] for d in demos], list(range(len(demos))), keys)


def fit_demo_encoder(spec: SimXArmSpec, encoder: str, camera: str, demos_per_task: int, seed: int, cache: Path,
                     steps: int = 400) -> Path:
    """The file of `encoder` (learned | state) fitted on the seed's demonstrations (cached by data and settings)."""
    from srpo_offline.encoders import store_camera

    cfg = FitConfig(encoder=encoder, camera=store_camera(camera) if encoder == "learned" else "camera0", steps=steps,
                    seed=seed, cache=str(cache))
    data = demo_fit_data(spec, encoder, camera, demos_per_task, seed, cfg.size)
    return fit_on_data(cfg, data, progress=False, source=f"srpo bench online warm-start demonstrations, seed {seed}")
