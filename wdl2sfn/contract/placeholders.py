"""Resource placeholders: the names the compiled ASL gives AWS resources.

The compiler writes ``${Name}`` (CloudFormation ``DefinitionSubstitutions`` syntax); the CDK app
and ``wdl2sfn deploy`` substitute the stack's outputs of the same names, the local executor and
the rehearsal bind the same names to local handlers. Spelling them in one place is what keeps the
four in step: a renamed output would otherwise fail only at deploy time.
"""

from __future__ import annotations

#: The run-time steps a state machine invokes as Lambda functions (EFS stacks).
FUNCTION_STEPS = ("init", "prepare", "collect", "eval", "finalize")
#: The Batch job queues: tasks (on-demand, spot, GPU) and the runner jobs (upload, FSx steps).
QUEUE_KINDS = ("cpu", "spot", "gpu", "runner")


def function_placeholder(step: str) -> str:
    """``<Step>FunctionArn``: the Lambda function that runs a run-time step."""
    return f"{step.capitalize()}FunctionArn"


def queue_placeholder(kind: str) -> str:
    """``<Kind>QueueArn``: one of the stack's Batch job queues."""
    return f"{kind.capitalize()}QueueArn"


def ref(name: str) -> str:
    """``${name}``: how the ASL names a placeholder."""
    return "${" + name + "}"


INIT_FUNCTION = function_placeholder("init")
PREPARE_FUNCTION = function_placeholder("prepare")
COLLECT_FUNCTION = function_placeholder("collect")
EVAL_FUNCTION = function_placeholder("eval")
FINALIZE_FUNCTION = function_placeholder("finalize")
CPU_QUEUE = queue_placeholder("cpu")
SPOT_QUEUE = queue_placeholder("spot")
GPU_QUEUE = queue_placeholder("gpu")
RUNNER_QUEUE = queue_placeholder("runner")
RUNNER_JOB_DEFINITION = "RunnerJobDefinitionArn"
RUN_BUCKET = "RunBucket"
#: The stack's call machine (contract/calls.py), which runs every call.
CALL_MACHINE = "CallMachineArn"
#: The stack's finish machine (contract/calls.py): a run's outputs and their upload.
FINISH_MACHINE = "FinishMachineArn"
#: The stack's start machine (contract/calls.py): a run's init.
START_MACHINE = "StartMachineArn"

#: Every placeholder a compiled workflow may use besides its child machines'.
PLACEHOLDERS = (
    *(function_placeholder(s) for s in FUNCTION_STEPS),
    *(queue_placeholder(k) for k in QUEUE_KINDS),
    RUNNER_JOB_DEFINITION,
    RUN_BUCKET,
    CALL_MACHINE,
    FINISH_MACHINE,
    START_MACHINE,
)

#: ``${StateMachineArn_<machine>}``: a child machine (subworkflow, part) a parent starts.
CHILD_PREFIX = "StateMachineArn_"
#: The stack output naming the role every deployed state machine assumes (not a placeholder).
ROLE_OUTPUT = "StateMachineRoleArn"
