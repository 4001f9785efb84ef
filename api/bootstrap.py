"""``python -m api.bootstrap``: create the first district administrator.

The same as ``tianqu-api bootstrap``; see :mod:`api.cli`.
"""

from __future__ import annotations

import sys

from api.cli import main

if __name__ == "__main__":
    sys.exit(main(["bootstrap", *sys.argv[1:]]))
