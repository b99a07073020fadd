"""Sampling: prompt templates, per-sample seeds, the sample store, the resume journal and two engines.

- `templates`: resources/prompts/*.yaml, rendered and tokenized as the paper's code did.
- `requests`: Request / Sampling / Completion and the hashed per-sample seed.
- `store`: which samples exist and which are missing: draws, blocks and their plan (imported by the Snakefile;
  no heavy imports).
- `engine`: the Engine interface; `hf` (transformers, CPU) and `vllm_engine` (vLLM, GPU, imported lazily).
- `journal`: crash-safe record of finished samples; `stage`: the `sample` subcommand.
"""
