"""wdl2sfn: compile WDL workflows into AWS Step Functions state machines, run them locally or on AWS."""

__version__ = "0.1.0"
