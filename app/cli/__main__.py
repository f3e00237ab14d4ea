"""``python -m app.cli``: the subcommands without the GUI."""

import sys

from app.cli import main

if __name__ == "__main__":  # not when a test imports every module to look for Qt
    sys.exit(main())
