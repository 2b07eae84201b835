"""Events published with nobody listening cost the event loop nothing; a listener gets them."""

from __future__ import annotations

import asyncio
import threading

from realtime.events.hub import SignalHub, Subscriber


class CountingLoop(asyncio.SelectorEventLoop):
    """An event loop that counts the callbacks other threads hand it."""

    handed = 0

    def call_soon_threadsafe(self, callback, *args, context=None):  # type: ignore[no-untyped-def]
        self.handed += 1
        return super().call_soon_threadsafe(callback, *args, context=context)


def _from_a_thread(hub: SignalHub) -> None:
    worker = threading.Thread(target=hub.publish, args=("fill", {"user_id": 1, "symbol": "EURUSD"}))
    worker.start()
    worker.join()


def test_a_fill_with_no_listener_does_not_wake_the_loop():
    loop = CountingLoop()
    try:
        hub = SignalHub()
        hub.loop = loop
        _from_a_thread(hub)
        assert loop.handed == 0
        q = hub.subscribe(Subscriber(user_id=1))
        _from_a_thread(hub)
        assert loop.handed == 1
        loop.run_until_complete(asyncio.sleep(0))  # runs the handed-over fan-out
        assert '"type": "fill"' in q.get_nowait()
    finally:
        loop.close()
