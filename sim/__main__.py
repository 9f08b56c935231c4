"""``python -m asyncsim`` is the ``asyncsim`` command."""

import sys

from asyncsim.cli.main import main

sys.exit(main())
