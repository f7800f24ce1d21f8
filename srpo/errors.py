"""Errors whose message is meant for the user: what went wrong and what to do about it."""


class UserFacingError(Exception):
    """Bad input or environment; the CLI prints the message (which says what to do) without a traceback."""


class StoreError(UserFacingError):
    """An episode store is missing, malformed, read-only, full, or asked for something it does not hold."""


class RewardInputError(UserFacingError, ValueError):
    """Embeddings, labels or options that no reward can be computed from; the message says what to fix."""
