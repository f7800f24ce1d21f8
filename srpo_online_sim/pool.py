"""A pool of environments, each in its own worker subprocess (or all in this process), stepped in parallel.

Any world whose config implements `srpo_online_sim.protocols.EnvSpec` runs here: the spec (a frozen,
picklable dataclass) travels to each spawned worker, which builds its Env with `spec.build()` and then serves
method calls over a pipe. Calls take one argument tuple per env and return one result per env; every worker
runs its call while the others run theirs, so rollouts use every core (and every GPU's EGL device).
"""

from __future__ import annotations

import multiprocessing as mp

from srpo.errors import UserFacingError


def _worker(conn, spec) -> None:
    env = spec.build()
    try:
        while True:
            method, args = conn.recv()
            if method == "close":
                break
            try:
                conn.send(("ok", getattr(env, method)(*args)))
            except Exception as err:  # noqa: BLE001 - forwarded to the parent, which raises it
                conn.send(("error", f"{type(err).__name__}: {err}"))
    finally:
        env.close()
        conn.close()


class EnvPool:
    """``num_envs`` envs built from ``spec``, each in a worker subprocess (``start_method``: spawn or
    forkserver), or all in-process with ``subprocess=False``."""

    def __init__(self, spec, num_envs: int, subprocess: bool = True, start_method: str = "spawn"):
        if num_envs < 1:
            raise UserFacingError("need at least one environment")
        self.spec = spec
        self.config = spec  # the name older callers use
        self.num_envs = num_envs
        self.subprocess = subprocess
        if not subprocess:
            self._local = [spec.build() for _ in range(num_envs)]
            return
        ctx = mp.get_context(start_method)
        self._conns, self._procs = [], []
        for _ in range(num_envs):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(child, spec), daemon=True)
            proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)

    def env_action(self, actions):
        """The policy's actions mapped to this pool's env convention (EnvSpec.env_action)."""
        return self.spec.env_action(actions)

    def call(self, method: str, args_per_env: list[tuple], envs: list[int] | None = None) -> list:
        envs = list(range(self.num_envs)) if envs is None else envs
        if not self.subprocess:
            return [getattr(self._local[i], method)(*a) for i, a in zip(envs, args_per_env)]
        for i, a in zip(envs, args_per_env):
            self._conns[i].send((method, a))
        results = []
        errors = []
        for i in envs:
            status, value = self._conns[i].recv()
            if status == "error":
                errors.append(f"env worker {i} ({type(self.spec).__name__}): {value}")
            results.append(value)
        if errors:
            raise RuntimeError("; ".join(errors))
        return results

    def close(self) -> None:
        if not self.subprocess:
            for env in self._local:
                env.close()
            return
        for conn in self._conns:
            try:
                conn.send(("close", ()))
            except (BrokenPipeError, OSError):
                pass
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()

    def __enter__(self) -> EnvPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
