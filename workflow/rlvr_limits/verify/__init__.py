"""Verification: turn sampled responses into verdicts (correct, wrong, no_answer, timeout, error, ...)."""
