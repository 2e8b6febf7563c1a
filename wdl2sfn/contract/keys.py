"""Run-bucket key prefixes shared by the compiler, the run-time steps and the CDK stack.

Everything a run writes to the run bucket besides its sources (``_workflows/``), shipped inputs
(``inputs-data/``) and uploaded outputs (``runs/``) is scratch: Distributed Map item files,
Map Run result manifests and, with FSx, the run-time steps' results. The stack's lifecycle rule
expires exactly these prefixes.
"""

ITEMS_PREFIX = "_items"  # scatter item files (ItemReader), one per scatter instance
MAP_RESULTS_PREFIX = "_map_results"  # ResultWriter manifests (Step Functions appends the run id)
STEPS_PREFIX = "_steps"  # FSx: run-time step results and the execution input init reads
SCRATCH_PREFIXES = (ITEMS_PREFIX, MAP_RESULTS_PREFIX, STEPS_PREFIX)
