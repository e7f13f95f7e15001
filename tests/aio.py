"""Running coroutines from synchronous tests."""


def run_coroutine(coro):
    """Run ``coro`` to completion on a fresh event loop in its own thread.

    ``asyncio.run`` refuses to start while another loop runs in this thread, which is the case
    after the browser tests (Playwright's sync API keeps a loop in the main thread).
    """
    import asyncio
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
