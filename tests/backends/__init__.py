"""Tests of wdl2sfn.backends."""
