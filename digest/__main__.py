"""``python -m digest``: the same as the ``digest`` command."""

import sys

from digest.cli import main

sys.exit(main())
