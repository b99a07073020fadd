"""models stage(s) of rlvr-limits."""
