"""``asyncsim.models.load(path)``: a model file as the objects a replay runs against."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from asyncsim._validate import refuse
from asyncsim.models.distributions import Empirical

from ._network import RecordedNetwork
from ._schema import ModelFile, read_model_file

__all__ = ["RecordedModel", "load", "model_from_file"]


@dataclass
class RecordedModel:
    """A recorded model, ready to replay and to edit.

    Attributes
    ----------
    network : RecordedNetwork
        The endpoints the program talked to (``network.endpoint(host, port)``).
    cpu : dict of str to distribution, or None
        Seconds of CPU per task step of each coroutine (by qualname), and seconds per
        thread job of each function run in a thread (its recorded real duration), for
        the CPU cost model (``cpu=`` of :func:`asyncsim.run`); None when nothing was
        recorded.
    file : ModelFile
        The model file as read.
    path : str
        Where it was read from ("" when built in memory).
    """

    network: RecordedNetwork
    cpu: dict[str, Any] | None
    file: ModelFile
    path: str = ""

    def models(self) -> dict[str, Any]:
        """The keyword arguments a run takes: ``network`` and (when recorded) ``cpu``."""
        found: dict[str, Any] = {"network": self.network}
        if self.cpu:
            found["cpu"] = self.cpu
        return found

    def __repr__(self) -> str:
        coroutines = len(self.cpu or {})
        where = self.path or self.file.program
        return f"<RecordedModel {where!r} {self.network!r} cpu={coroutines} coroutines>"


def model_from_file(
    model: ModelFile, *, unknown: str = "error", cpu: bool | str = True, path: str = ""
) -> RecordedModel:
    """The :class:`RecordedModel` of an in-memory :class:`ModelFile` (see :func:`load`)."""
    if cpu not in (True, False, "cpu", "wall"):
        refuse("cpu", "True, False, 'cpu' or 'wall'", cpu, error=ValueError)
    source = f"model file {path!r}" if path else "the model"
    network = RecordedNetwork.from_model_file(model, unknown=unknown, source=source)
    samples = model.step_wall if cpu == "wall" else model.cpu
    costs = {name: Empirical(values) for name, values in samples.items() if values}
    # The CPU cost model's mapping also times thread jobs by function (their real durations)
    costs.update({name: Empirical(values) for name, values in model.thread_jobs.items() if values})
    return RecordedModel(
        network=network, cpu=costs if cpu and costs else None, file=model, path=path
    )


def load(
    path: str | os.PathLike[str], *, unknown: str = "error", cpu: bool | str = True
) -> RecordedModel:
    """Read a model file written by ``asyncsim record`` into objects to replay and edit.

    Parameters
    ----------
    path : str or path
        The model file (JSON).
    unknown : {"error", "pooled"}
        A connection to a host or port the model lacks raises
        :class:`~asyncsim.models.recorded.UnknownEndpointError` naming it (``"error"``),
        or is answered by the recorded HTTP routes pooled (``"pooled"``).
    cpu : bool or {"cpu", "wall"}
        Charge each task step its recorded CPU time (``True`` or ``"cpu"``: the
        program's own cost), its recorded real time (``"wall"``: on a busy machine
        also the time the system gave other processes), or nothing (``False``). Thread
        jobs take their recorded real durations, unless ``False``.

    Returns
    -------
    RecordedModel
        ``.network`` (a :class:`~asyncsim.models.network.Network`), ``.cpu``, ``.file``.

    Raises
    ------
    FileNotFoundError
        There is no file at ``path``.
    ModelFileError
        It is not JSON, not a model file, of another schema version, or holds a bad value.

    Examples
    --------
    >>> model = asyncsim.models.load("model.json")                 # doctest: +SKIP
    >>> model.network.scale("api.example.com", 2.0)                 # doctest: +SKIP
    >>> asyncsim.run(main(), model=model)                           # doctest: +SKIP
    """
    path = os.fspath(path)
    return model_from_file(read_model_file(path), unknown=unknown, cpu=cpu, path=str(path))
