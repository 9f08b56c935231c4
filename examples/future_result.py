"""A future set by another task after 5 s, awaited by the main coroutine."""

import asyncio


async def set_future_result(future, result):
    await asyncio.sleep(5)
    future.set_result(result)


async def await_future(future):
    print("I'm waiting for future to set with requests result")
    r = await future
    print(r)


async def main():
    future = asyncio.Future()
    # t1 = asyncio.create_task(await_future(future))
    t2 = asyncio.create_task(set_future_result(future, "Future :"))  # noqa: F841, RUF006

    await await_future(future)


if __name__ == "__main__":
    asyncio.run(main())
