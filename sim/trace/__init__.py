"""What a traced run recorded, and the analysis of it (no pictures: see asyncsim.report).

* :mod:`~asyncsim.trace.records`: the rows and the immutable ``Trace``;
* :mod:`~asyncsim.trace.schema`: its JSON layout, versions and checks;
* :mod:`~asyncsim.trace.causes`: the cause of each step;
* :mod:`~asyncsim.trace.critical_path`: the chain of waits that decided the elapsed time;
* :mod:`~asyncsim.trace.graph`: the task graph and the step DAG (networkx).
"""
