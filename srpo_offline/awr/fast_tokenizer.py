"""A local FAST action tokenizer (Pertsch et al. 2025), loadable by `AutoProcessor(..., trust_remote_code=True)`.

LeRobot's π0-FAST loads `lerobot/fast-action-tokenizer` from the hub: a remote-code processor that takes the
DCT of a normalised action chunk over time, scales and rounds the coefficients, writes each one as a
character (chr(coefficient - min_token), row-major over [time, dim]) and compresses the string with BPE.
LeRobot decodes with `bpe_tokenizer.decode`, `min_token` and `scale`. This module is that processor, written
from the paper's description, plus `build_fast_tokenizer` to fit its BPE on synthetic smooth chunks and save
it as a directory that carries this file as its remote code. This file must import nothing from srpo: it is
copied next to the saved tokenizer.
"""

import json
import shutil
from pathlib import Path

import numpy as np
from scipy.fft import dct, idct

CODE_FILE = "processing_action_tokenizer.py"
CONFIG_FILE = "processor_config.json"


class UniversalActionProcessor:
    """DCT + scale + round + BPE over coefficient characters; inverse in `decode`."""

    def __init__(self, bpe_tokenizer, scale: float = 10.0, min_token: int = -100, max_token: int = 100,
                 time_horizon: int | None = None, action_dim: int | None = None):
        self.bpe_tokenizer = bpe_tokenizer
        self.scale = scale
        self.min_token = min_token
        self.max_token = max_token
        self.time_horizon = time_horizon
        self.action_dim = action_dim

    @classmethod
    def register_for_auto_class(cls, auto_class: str = "AutoProcessor") -> None:
        """AutoProcessor calls this on remote-code classes; nothing to register here."""

    @classmethod
    def from_pretrained(cls, path, **_kwargs):
        from transformers import PreTrainedTokenizerFast

        cfg = json.loads((Path(path) / CONFIG_FILE).read_text())
        bpe = PreTrainedTokenizerFast(tokenizer_file=str(Path(path) / "tokenizer.json"))
        keys = ("scale", "min_token", "max_token", "time_horizon", "action_dim")
        return cls(bpe, **{k: cfg[k] for k in keys if k in cfg})

    def coefficients(self, actions: np.ndarray) -> np.ndarray:
        """[B, T, D] actions -> rounded, scaled DCT coefficients, clipped to the tokenizer's alphabet."""
        coeff = np.around(dct(np.asarray(actions, dtype=np.float64), axis=1, norm="ortho") * self.scale)
        return np.clip(coeff, self.min_token, self.max_token).astype(int)

    def to_strings(self, actions: np.ndarray) -> list[str]:
        actions = np.asarray(actions)
        if actions.ndim == 2:
            actions = actions[None]
        return ["".join(map(chr, (c.reshape(-1) - self.min_token))) for c in self.coefficients(actions)]

    def __call__(self, actions) -> list[list[int]]:
        return [self.bpe_tokenizer.encode(s, add_special_tokens=False) for s in self.to_strings(actions)]

    def decode(self, tokens: list[list[int]], time_horizon: int, action_dim: int) -> np.ndarray:
        out = []
        for seq in tokens:
            coeff = np.array([ord(c) for c in self.bpe_tokenizer.decode(seq)]) + self.min_token
            out.append(idct(coeff.reshape(time_horizon, action_dim) / self.scale, axis=0, norm="ortho"))
        return np.stack(out)


def build_fast_tokenizer(out_dir: str | Path, vocab_size: int = 256, horizon: int = 4, action_dim: int = 8,
                         scale: float = 10.0, max_token: int = 100, seed: int = 0) -> Path:
    """Fit the BPE on smooth random chunks (normalised-action scale) and save a remote-code processor dir."""
    from tokenizers import Tokenizer, decoders, models, trainers
    from transformers import PreTrainedTokenizerFast

    alphabet = [chr(i) for i in range(2 * max_token + 1)]
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(scale=0.3, size=(2000, horizon, action_dim)), axis=1)
    proc = UniversalActionProcessor(None, scale=scale, min_token=-max_token, max_token=max_token)
    tok = Tokenizer(models.BPE())
    tok.decoder = decoders.Fuse()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=alphabet, show_progress=False,
                                  limit_alphabet=len(alphabet), max_token_length=8)
    tok.train_from_iterator(proc.to_strings(walk), trainer)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    PreTrainedTokenizerFast(tokenizer_object=tok).save_pretrained(out_dir)
    shutil.copyfile(Path(__file__), out_dir / CODE_FILE)
    (out_dir / CONFIG_FILE).write_text(json.dumps({
        "auto_map": {"AutoProcessor": f"{CODE_FILE[:-3]}.UniversalActionProcessor"},
        "scale": scale, "min_token": -max_token, "max_token": max_token, "time_horizon": horizon,
        "action_dim": action_dim, "vocab_size": tok.get_vocab_size(),
    }, indent=2))
    return out_dir
