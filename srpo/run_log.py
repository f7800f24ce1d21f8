"""One run log for every trainer: metrics as JSON lines, a JSON summary, TensorBoard scalars when installed,
and the console progress bar.

    log = RunLog(out, header={"config": ...}, resume=False)
    bar = log.progress(total=steps, initial=step, desc="awr act")
    log.add("train", step, {"loss": 0.12})    # -> metrics.jsonl line, log.json list "train", TB "train/loss"
    log.flush()                                # rewrite log.json, flush TensorBoard
    log.close()

metrics.jsonl ({"kind", "step", ...} per line, appended, never rewritten) survives a crash; log.json holds the
header plus one list per kind, for readers that want the whole run at once. `enabled=False` (the non-main
processes of a distributed run) writes nothing.
"""

import json
from pathlib import Path

METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "log.json"


class RunLog:
    """Metrics of one training run in `folder`."""

    def __init__(self, folder: str | Path, header: dict | None = None, resume: bool = False,
                 enabled: bool = True, tensorboard: str | None = "tensorboard"):
        self.folder = Path(folder)
        self.path = self.folder / SUMMARY_FILE
        self.metrics_path = self.folder / METRICS_FILE
        self.enabled = enabled
        self.data: dict = {}
        if resume and self.path.exists():
            self.data = json.loads(self.path.read_text())
        self.data.update(header or {})
        self.tb = None
        self.bar = None
        if not enabled:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        if not resume and self.metrics_path.exists():
            self.metrics_path.unlink()
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(self.folder / tensorboard))
            except ImportError:
                self.tb = None

    def progress(self, total: int, initial: int = 0, desc: str = "", enabled: bool = True):
        """The console progress bar (tqdm) for this run; `add("train", ...)` shows the loss on it."""
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, initial=initial, desc=desc, disable=not (enabled and self.enabled))
        return self.bar

    def add(self, kind: str, step: int, values: dict) -> None:
        """One record of `kind` ("train", "val", ...) at `step`."""
        record = {"step": step, **{k: float(v) for k, v in values.items()}}
        self.data.setdefault(kind, []).append(record)
        if not self.enabled:
            return
        with self.metrics_path.open("a") as f:
            f.write(json.dumps({"kind": kind, **record}) + "\n")
        if self.tb is not None:
            for key, value in values.items():
                self.tb.add_scalar(f"{kind}/{key}", value, step)
        if self.bar is not None and "loss" in values:
            self.bar.set_postfix({f"{kind} loss": f"{float(values['loss']):.4f}"})

    def records(self, kind: str) -> list[dict]:
        return self.data.get(kind, [])

    def flush(self) -> None:
        if not self.enabled:
            return
        self.path.write_text(json.dumps(self.data, indent=1, default=float))
        if self.tb is not None:
            self.tb.flush()

    def close(self) -> None:
        self.flush()
        if self.bar is not None:
            self.bar.close()
        if self.tb is not None:
            self.tb.close()
