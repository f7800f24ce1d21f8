"""The Zarr episode store: the one format the recorder writes and every later stage reads."""

from srpo.store.episode_store import EpisodeInfo, EpisodeStore
from srpo.store.schema import SCHEMA_VERSION, SOURCES, STATUSES, CameraSpec, StoreConfig, data_keys
from srpo.store.writer import EpisodeWriter

__all__ = [
    "SCHEMA_VERSION",
    "SOURCES",
    "STATUSES",
    "CameraSpec",
    "EpisodeInfo",
    "EpisodeStore",
    "EpisodeWriter",
    "StoreConfig",
    "data_keys",
]
