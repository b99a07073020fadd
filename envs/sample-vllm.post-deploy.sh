#!/usr/bin/env bash
# Install the workflow's own package (no dependencies: the env pins them) into the freshly built env.
# Snakemake runs this from the workflow's working directory, the repository root.
set -euo pipefail
pip install --no-deps --editable .
