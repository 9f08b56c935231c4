"""Sweeps: many simulated runs over a grid of parameters and seeds (:func:`asyncsim.sweep`).

``records`` (one run, the results file) and ``stats`` (percentiles) are plain data;
``grid`` checks the input, ``worker`` runs one (point, seed), ``runner`` spreads the runs
over executors, ``replay`` runs one row again with its timeline report, ``results`` is
the table they return, ``report`` its plots and page (matplotlib, loaded on use), and
``appfunc`` finds a script's function for ``asyncsim sweep``.
"""
