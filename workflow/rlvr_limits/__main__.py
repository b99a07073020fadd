"""`python -m rlvr_limits <stage>`. Guarded, because vLLM starts its engine in a spawned process, which
re-imports the main module: unguarded, it would run the stage again."""

from rlvr_limits.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
