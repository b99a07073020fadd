# rlvr-limits: does RL really incentivize reasoning capacity beyond the base model? Sample, verify, compare.
# Run the embedded miniature study:   snakemake --cores 2
# Run the paper's configuration:      snakemake --configfile config/paper.yaml --profile slurm
# Everything produced lands under results/; see README.md.

from snakemake.utils import min_version

min_version("9.0")


# The embedded default, unless the user names a config with --configfile (which Snakemake would otherwise merge
# into it, mixing the demo's models into e.g. the paper's configuration).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/check.smk"
include: "workflow/rules/plan.smk"
include: "workflow/rules/sample.smk"
include: "workflow/rules/import.smk"
include: "workflow/rules/verify.smk"
include: "workflow/rules/passk.smk"
include: "workflow/rules/analyze.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/explorer.smk"
include: "workflow/rules/toy.smk"


rule all:
    default_target: True
    input:
        all_targets(),
