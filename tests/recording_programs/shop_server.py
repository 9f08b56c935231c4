"""A real aiohttp.web server with known delays, for recording tests (run in its own process).

    python shop_server.py [PORT]     # prints "serving on PORT" once it listens (0: any port)

* ``GET /items/{id}``: answers after 0.10 + 0.025 * (id % 5) seconds, a JSON body;
* ``GET /search``: answers after 0.30 s with 5,000 bytes of text;
* ``POST /orders``: answers after 0.20 s; an order of an item whose number is 3 modulo 4
  fails with status 500 (a quarter of the items: a known failure rate of 25 %).
"""

import asyncio
import sys

from aiohttp import web

ORDERS = {"count": 0}


async def item(request: web.Request) -> web.Response:
    number = int(request.match_info["id"])
    await asyncio.sleep(0.10 + 0.025 * (number % 5))
    return web.json_response({"id": number, "name": f"item {number}", "price": number * 1.5})


async def search(request: web.Request) -> web.Response:
    await asyncio.sleep(0.30)
    return web.Response(text="x" * 5000)


async def order(request: web.Request) -> web.Response:
    wanted = await request.json()
    ORDERS["count"] += 1
    await asyncio.sleep(0.20)
    if int(wanted["item"]) % 4 == 3:
        return web.json_response({"error": "out of stock"}, status=500)
    return web.json_response({"order": ORDERS["count"]}, status=201)


async def main(port: int) -> None:
    app = web.Application()
    app.add_routes(
        [web.get("/items/{id}", item), web.get("/search", search), web.post("/orders", order)]
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"serving on {bound}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
