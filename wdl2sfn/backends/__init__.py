"""Backends: where the compiled state machine runs (local executor, or AWS)."""
