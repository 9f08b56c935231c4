"""Record once, simulate forever: models calibrated from a real run of the program.

``asyncsim record app.py -o model.json`` runs a program for real with a :class:`Probe`
on its event loops and writes what it saw as a model file (:mod:`._schema`): per
remote host and port, connect, TLS and lookup times; per HTTP request kind (method
and route template) or raw stream, time to first byte, transfer time, response
sizes, statuses and fault rates, as empirical distributions; per coroutine, the CPU
time of each task step; and what was not recorded, and why. :func:`load` turns that
file into a :class:`RecordedNetwork` and a CPU cost mapping that replay it in
virtual time, editable for what-ifs::

    model = asyncsim.models.load("model.json")
    model.network.scale("api.example.com", 2.0)
    asyncsim.run(main(), model=model)      # or: asyncsim run app.py --model model.json
"""

from ._calibrate import calibrate
from ._load import RecordedModel, load, model_from_file
from ._network import RecordedNetwork, UnknownEndpointError
from ._observe import ClientRequest, Connection, Exchange, Observations
from ._probe import NOT_RECORDED, Probe, traced_sessions
from ._replay import Answer, RecordedEndpoint, RecordedRoute
from ._routes import RouteTemplates, route_template
from ._schema import (
    MAX_SAMPLES,
    SCHEMA_VERSION,
    EndpointData,
    ModelFile,
    ModelFileError,
    RouteData,
    StreamData,
    read_model_file,
)

__all__ = [
    "MAX_SAMPLES",
    "NOT_RECORDED",
    "SCHEMA_VERSION",
    "Answer",
    "ClientRequest",
    "Connection",
    "EndpointData",
    "Exchange",
    "ModelFile",
    "ModelFileError",
    "Observations",
    "Probe",
    "RecordedEndpoint",
    "RecordedModel",
    "RecordedNetwork",
    "RecordedRoute",
    "RouteData",
    "RouteTemplates",
    "StreamData",
    "UnknownEndpointError",
    "calibrate",
    "load",
    "model_from_file",
    "read_model_file",
    "route_template",
    "traced_sessions",
]
