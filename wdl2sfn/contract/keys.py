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

#: Where the store keeps what no single run owns (the call cache and its key ``_CACHE``, workflow
#: sources ``_workflows``, downloads ``_DOWNLOADS``, the local Batch's ``_batch``): one hidden
#: folder beside the run folders (``WDL2SFN_SHARED_DIR`` overrides it; absolute, or relative to
#: the store), so the runs' folder holds run folders and ``_LAST``, as miniwdl's. Locally the
#: scratch keys above live in their run folder (``<run>/_items/...``), so deleting a run folder
#: deletes the run; their run-bucket keys on AWS are unchanged.
SHARED_DIR = ".wdl2sfn"
