"""wdl2sfn: compile WDL workflows into AWS Step Functions state machines, run them locally or on AWS."""


def __getattr__(name: str) -> str:
    """`__version__`, looked up when read: importlib.metadata's scan of the installed
    distributions cost every command (`compile` most visibly, against `miniwdl check`) ~20-30 ms
    of start-up while only `--version` and a few reports print it."""
    if name != "__version__":
        raise AttributeError(f"module 'wdl2sfn' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:  # the installed distribution's version (setuptools-scm: from the git tag it was built at)
        return version("wdl2sfn")
    except PackageNotFoundError:  # a source tree on sys.path without an install
        return "0.0.0+unknown"
