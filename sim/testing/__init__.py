"""Property testing on virtual time: hypothesis strategies, a state machine, the pytest plugin.

``strategies`` (:func:`~asyncsim.testing.strategies.schedules`) and ``stateful``
(:class:`~asyncsim.testing.stateful.SimulationMachine`) import hypothesis;
``pytest_plugin`` is loaded into every pytest session and imports nothing heavy until a
test uses asyncsim; ``replay`` holds the schedule ``--asyncsim-replay`` plays.
"""
