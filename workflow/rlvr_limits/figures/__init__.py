"""figures stage(s) of rlvr-limits."""
