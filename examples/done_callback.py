"""add_done_callback: the callback runs when another task sets the future at t=1 s."""

import asyncio


def on_future_done(future):
    print("Future done. Result:", future.result())


async def set_future_result(future):
    await asyncio.sleep(1)
    future.set_result("Future result")


async def main():
    future = asyncio.Future()
    future.add_done_callback(on_future_done)
    asyncio.create_task(set_future_result(future))  # noqa: RUF006

    await asyncio.sleep(2)  # give the future enough time to be set


if __name__ == "__main__":
    asyncio.run(main())
