"""`python -m kerastui` and the `kerastui` console script."""

from __future__ import annotations

import sys

from kerastui.cli import main

if __name__ == "__main__":
    sys.exit(main())
