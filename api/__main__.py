"""``python -m api <command>``: see :mod:`api.cli`."""

import sys

from api.cli import main

sys.exit(main())
