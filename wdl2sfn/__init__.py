"""wdl2sfn: compile WDL workflows into AWS Step Functions state machines, run them locally or on AWS."""

from importlib.metadata import PackageNotFoundError, version

try:  # the installed distribution's version (setuptools-scm: from the git tag it was built at)
    __version__ = version("wdl2sfn")
except PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0.0.0+unknown"
