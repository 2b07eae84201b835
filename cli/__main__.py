"""``python -m cli``: the ``alphaforge`` command line without the installed script."""

import sys

from cli.app import main

sys.exit(main())
