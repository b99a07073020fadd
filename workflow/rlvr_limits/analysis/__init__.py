"""analysis stage(s) of rlvr-limits."""
