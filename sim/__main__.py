"""``python -m sim`` is the ``asyncsim`` command."""

import sys

from .cli import main

sys.exit(main())
