"""srpo.configs: dataclass configs parsed from our command-line habits through draccus."""

from dataclasses import dataclass, field

import pytest

from srpo.configs import POSITIONAL, parse_config
from srpo.errors import UserFacingError


@dataclass(frozen=True)
class Limits:
    max_speed: float = 0.2  # metres per second at most


@dataclass(frozen=True)
class Example:
    """An example command."""

    store: str = field(default="", metadata=POSITIONAL)  # the store
    xarm_ip: str = "192.168.1.185"  # controller address
    episodes: tuple[int, ...] | None = None  # episode indices
    image_size: tuple[int, int] = (96, 128)  # H W
    limits: Limits = field(default_factory=Limits)  # limits
    json: bool = False  # print JSON
    task: str = "lift"  # the instruction
    serial: str = ""  # a camera serial
    episode: int = 0  # one episode index


@dataclass(frozen=True)
class Bags:
    bags: tuple[str, ...] = field(default=(), metadata=POSITIONAL)  # input bags
    out: str = field(default="", metadata=POSITIONAL)  # output store


def test_flags_positionals_nested_and_text_values():
    cfg = parse_config(Example, ["s.zarr", "--xarm-ip", "10.0.0.2", "--episodes", "1", "2", "--image-size", "64", "32",
                                 "--limits.max-speed", "0.1", "--json", "--task", "put the cube: in the bowl",
                                 "--serial", "012345", "--episode", "-1"])
    assert cfg == Example(store="s.zarr", xarm_ip="10.0.0.2", episodes=(1, 2), image_size=(64, 32),
                          limits=Limits(0.1), json=True, task="put the cube: in the bowl", serial="012345",
                          episode=-1)


def test_repeated_flag_accumulates_and_variadic_positional():
    assert parse_config(Example, ["--episodes", "3", "--episodes", "4"]).episodes == (3, 4)
    assert parse_config(Bags, ["a", "b", "c"]) == Bags(bags=("a", "b"), out="c")
    assert parse_config(Example, ["--xarm_ip=1.1.1.1"]).xarm_ip == "1.1.1.1"
    assert parse_config(Example, ["--episodes", "--task", "t"]).episodes == ()  # a list flag alone: empty


def test_bad_input_says_what_to_do():
    with pytest.raises(UserFacingError, match="did you mean --xarm-ip"):
        parse_config(Example, ["--xarm-ipp", "1"])
    with pytest.raises(UserFacingError, match="into an int"):
        parse_config(Example, ["--episode", "abc"])
    with pytest.raises(UserFacingError, match="needs a value"):
        parse_config(Example, ["--task"])
    with pytest.raises(UserFacingError, match="positional"):
        parse_config(Example, ["a.zarr", "b.zarr"])
