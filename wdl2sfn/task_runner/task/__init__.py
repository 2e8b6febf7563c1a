"""The task-level run-time steps of one WDL task call: Prepare -> (Batch job) -> Collect.

``prepare_task`` localizes the call's File inputs, evaluates the task's declarations, runtime
section and command with miniwdl's evaluator, consults the call cache, writes the call directory
and returns the Batch job to submit. The job runs ``bash ../command`` in ``<call_dir>/work`` and
records the command's exit status in ``<call_dir>/rc``. ``collect_task`` checks that status against
``returnCodes``, evaluates the outputs (stdout()/stderr()/glob() and File outputs confined to the
call directory) and writes ``outputs.json``. ``recover_task`` handles a failed job: a spot job whose
host was reclaimed is resubmitted on demand; anything else raises ``WdlTaskFailed``.

Call directory layout (``TaskContext.call_dir``)::

    command  inputs.json  task_env.json  runtime.json  job.json  rc  stdout.txt  stderr.txt
    outputs.json  error.json  cached_from  call_cache.json  inputs/<n>/<basename>  write_/  work/

One concern a module: prepare.py, runtime.py (runtime{}), job.py (the Batch job and its script),
stdlib.py (the paths policy), outputs.py (collect), recover.py (a failed job), failures.py (what
the user sees of a failure), context.py (TaskContext and the task's declarations).

On AWS the jobs mount the shared file system at the same path as the Lambda steps, so every path in
a WDL value is the same in Prepare, in the job and in Collect (no in-container path mapping).
"""

from .context import Prepared, TaskContext
from .failures import STDERR_TAIL_LINES
from .job import wrapper_script
from .outputs import collect_task, read_outputs
from .prepare import prepare_task
from .recover import recover_task

__all__ = [
    "TaskContext",
    "Prepared",
    "prepare_task",
    "collect_task",
    "recover_task",
    "read_outputs",
    "wrapper_script",
    "STDERR_TAIL_LINES",
]
