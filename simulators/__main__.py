"""``python -m simulators`` is ``tianqu-sim``."""

import sys

from simulators.cli import main

sys.exit(main())
