"""The bundle's entry script: the same as the installed ``muttefik`` command.

``ui.main`` is imported as a module (not run as the script), so its ``__file__`` sits in
the bundle's ``ui/`` folder and ``resources/`` is found beside it, as in a source tree.
"""

import sys

from ui.main import main

sys.exit(main())
