"""toy stage(s) of rlvr-limits."""
