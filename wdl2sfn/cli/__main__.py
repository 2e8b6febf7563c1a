"""``python -m wdl2sfn.cli``: what the `rerun` scripts and the tests run."""

import sys

from .main import main

sys.exit(main())
