"""``python -m app.cli``: the subcommands without the GUI."""

import sys

from app.cli import main

sys.exit(main())
