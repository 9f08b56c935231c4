"""Views of a trace: pictures, pages and exports (they read traces, never record them).

* :mod:`~asyncsim.report.gantt`: the Gantt chart (matplotlib), from the task states
  of :mod:`~asyncsim.report.timeline` and the lane rows of
  :mod:`~asyncsim.report.gantt_lanes`;
* :mod:`~asyncsim.report.page`: ``report()``, the folder with the HTML page and
  the data files; its lanes section is :mod:`~asyncsim.report.lanes`;
* :mod:`~asyncsim.report.chrome`: the Chrome / Perfetto trace-event export;
* :mod:`~asyncsim.report.folder`: which folders asyncsim may write into;
  :mod:`~asyncsim.report.loader`: reading a saved trace back;
* :mod:`~asyncsim.report.demo_index`: the index page of ``asyncsim demo``;
* ``_format``: formatting shared by the pages (also by the sweep report).

Nothing is imported here: matplotlib loads only when a chart is drawn.
"""
