"""`chunk_mlp`: an MLP from the low-dimensional state to an action chunk (a LeRobot policy plugin)."""
