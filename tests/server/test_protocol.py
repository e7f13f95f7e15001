"""Coalesced response writes. Segment boundaries are not observable from user space on loopback,
so the transport underneath is a recording stand-in; the end-to-end behaviour (no keep-alive stall,
every byte delivered) is covered by the real-server tests."""

from __future__ import annotations

import asyncio

from aio import run_coroutine

from labkeep.server.protocol import _CoalescingTransport


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 1) if name == "peername" else default


def test_head_and_body_leave_in_one_write():
    async def main():
        loop = asyncio.get_running_loop()
        raw = RecordingTransport()
        t = _CoalescingTransport(raw, loop)
        t.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        t.write(b"{}")
        assert raw.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        t.write(b"HTTP/1.1 204 No Content\r\n\r\n")  # a head with no body is flushed at the loop turn
        assert len(raw.writes) == 1
        await asyncio.sleep(0)
        assert raw.writes[-1] == b"HTTP/1.1 204 No Content\r\n\r\n"
        t.write(b"last")
        t.close()  # pending bytes go out before the close
        assert raw.writes[-1] == b"last" and raw.closed
        assert t.get_extra_info("peername") == ("127.0.0.1", 1)

    run_coroutine(main())
