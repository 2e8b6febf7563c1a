"""wdl2sfn.statemachine: the local ASL executor (validation, quotas, the state kinds).

The ASL builders the compiler uses live in :mod:`wdl2sfn.compiler.asl`: the compiler never
imports the executor.

The executor's public API (Executor, Execution, ExecutionResult, TaskCall, TaskFailure, Quotas,
ObjectStore, FolderObjectStore) lives in :mod:`wdl2sfn.statemachine.executor`.
"""
