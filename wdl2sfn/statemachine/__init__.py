"""wdl2sfn.statemachine: ASL builders, validation, quotas and the local ASL executor.

The executor's public API (Executor, Execution, ExecutionResult, TaskCall, TaskFailure, Quotas,
ObjectStore, FolderObjectStore) lives in :mod:`wdl2sfn.statemachine.executor`.
"""
