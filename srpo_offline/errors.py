"""The reward stage's input error (its own module so that progress, advantages and clustering share it
without importing one another)."""

from srpo.errors import UserFacingError


class RewardInputError(UserFacingError, ValueError):
    """Embeddings, labels or options that no reward can be computed from; the message says what to fix."""
