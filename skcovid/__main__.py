"""``python -m skcovid``: the same as the ``skcovid`` command."""

import sys

from .cli import main

sys.exit(main())
