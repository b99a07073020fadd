"""data stage(s) of rlvr-limits."""
