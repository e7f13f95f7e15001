"""Streamed openai answers: pass-through stream wrappers and assembling chunks into one answer.

The wrappers hand every chunk to the caller unchanged and call ``on_done(chunks, exc)`` exactly
once, when the stream is exhausted, fails, is closed or its ``with`` block is left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

OnDone = Callable[[list[Any], BaseException | None], None]


class _Collector:
    def __init__(self, stream: Any, on_done: OnDone) -> None:
        self._stream = stream
        self._on_done: OnDone | None = on_done
        self.chunks: list[Any] = []

    def _done(self, exc: BaseException | None = None) -> None:
        cb, self._on_done = self._on_done, None
        if cb is not None:
            cb(self.chunks, exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __del__(self) -> None:  # a stream dropped half-read still ends its span
        try:
            self._done()
        except Exception:
            pass


class StreamProxy(_Collector):
    """Wraps ``openai.Stream``."""

    def __iter__(self) -> StreamProxy:
        return self

    def __next__(self) -> Any:
        try:
            chunk = next(self._stream) if hasattr(self._stream, "__next__") else self._next_from_iter()
        except StopIteration:
            self._done()
            raise
        except BaseException as exc:
            self._done(exc)
            raise
        self.chunks.append(chunk)
        return chunk

    def _next_from_iter(self) -> Any:
        it = getattr(self, "_it", None)
        if it is None:
            it = self._it = iter(self._stream)
        return next(it)

    def __enter__(self) -> StreamProxy:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close()
        self._done(exc)

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()
        self._done()


class AsyncStreamProxy(_Collector):
    """Wraps ``openai.AsyncStream``."""

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self._stream.__anext__()
        except StopAsyncIteration:
            self._done()
            raise
        except BaseException as exc:
            self._done(exc)
            raise
        self.chunks.append(chunk)
        return chunk

    async def __aenter__(self) -> AsyncStreamProxy:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await self.close()
        self._done(exc)

    async def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            await close()
        self._done()


def _as_dict(chunk: Any) -> dict[str, Any]:
    if isinstance(chunk, dict):
        return chunk
    dump = getattr(chunk, "model_dump", None)
    return dump() if callable(dump) else {"value": str(chunk)}


def assemble(chunks: list[Any]) -> dict[str, Any]:
    """One answer from streamed chunks: a ``chat.completion`` dict or the completed response."""
    items = [_as_dict(c) for c in chunks]
    if any(str(i.get("type", "")).startswith("response.") for i in items):
        return _assemble_response(items)
    return _assemble_chat(items)


def _assemble_chat(items: list[dict[str, Any]]) -> dict[str, Any]:
    choices: dict[int, dict[str, Any]] = {}
    out: dict[str, Any] = {"object": "chat.completion"}
    for item in items:
        for key in ("id", "model", "created", "system_fingerprint"):
            if item.get(key) is not None:
                out[key] = item[key]
        if item.get("usage"):
            out["usage"] = item["usage"]
        for ch in item.get("choices") or []:
            idx = int(ch.get("index") or 0)
            acc = choices.setdefault(
                idx, {"index": idx, "message": {"role": "assistant", "content": ""}, "finish_reason": None}
            )
            delta = ch.get("delta") or {}
            if delta.get("role"):
                acc["message"]["role"] = delta["role"]
            if delta.get("content"):
                acc["message"]["content"] += delta["content"]
            for tc in delta.get("tool_calls") or []:
                calls = acc["message"].setdefault("tool_calls", [])
                pos = int(tc.get("index") or 0)
                while len(calls) <= pos:
                    calls.append({"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
                call = calls[pos]
                if tc.get("id"):
                    call["id"] = tc["id"]
                fn = tc.get("function") or {}
                call["function"]["name"] += fn.get("name") or ""
                call["function"]["arguments"] += fn.get("arguments") or ""
            if ch.get("finish_reason"):
                acc["finish_reason"] = ch["finish_reason"]
    out["choices"] = [choices[i] for i in sorted(choices)]
    return out


def _assemble_response(items: list[dict[str, Any]]) -> dict[str, Any]:
    for item in reversed(items):
        if item.get("type") in ("response.completed", "response.incomplete", "response.failed"):
            return item.get("response") or {}
    text = "".join(str(i.get("delta") or "") for i in items if i.get("type") == "response.output_text.delta")
    return {"object": "response", "output_text": text}
