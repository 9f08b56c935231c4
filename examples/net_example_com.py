"""Model of the network the aiohttp examples talk to, for ``asyncsim run --model``.

https://example.com answers 200 after 0.82 s, what the seed notes measured;
links have no latency, so a request takes exactly 0.82 s, connecting included::

    asyncsim run --model examples/net_example_com.py examples/gather.py

A model file is plain Python that defines a module-level ``network``.
"""

from asyncsim.models.network import Network

RESPONSE_TIME = 0.82  # seconds

network = Network()
network.http_service("example.com", response_time=RESPONSE_TIME, body="<h1>Example Domain</h1>")
