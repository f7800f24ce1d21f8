"""Offline SRPO: world-progress rewards, the Progress Reward Benchmark, advantages and AWR training."""
