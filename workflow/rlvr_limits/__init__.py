"""rlvr-limits: sample, verify and compare pass@k of base and RL-trained models at any scale."""

__version__ = "0.1.0"
