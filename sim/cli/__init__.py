"""The ``asyncsim`` command: ``run``, ``demo``, ``report``, ``sweep`` (see :mod:`.main`)."""
