"""A tiny OpenAI-compatible chat-completions server on loopback for offline tests.

Nothing here calls a real model: answers are deterministic functions of the last user message.
* contains "MALFORMED"  -> content that is not JSON
* contains "SLOW"       -> sleeps ``slow_seconds`` before answering (to trigger client timeouts)
* contains "HTTP500"    -> HTTP 500
* a judge prompt (asks for a JSON "score") -> {"score": 5|1, "rationale": ...}: 5 when the response
  section repeats the expected answer (or the request when there is none), else 1
* anything else         -> "echo: <message>"
Usage is reported as prompt_tokens = words in all messages, completion_tokens = words in the answer.
``"stream": true`` answers as server-sent events, one chunk per word (usage in a last chunk when
``stream_options.include_usage``). ``/responses`` answers the Responses API the same way (its
``input`` is a string or a list of messages), streamed as ``response.*`` events.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _judge_answer(text: str) -> str:
    def section(name: str) -> str:
        m = re.search(rf"{name}:\n(.*?)(?:\n\n|$)", text, re.DOTALL)
        return m.group(1).strip().strip('"') if m else ""

    response = section("Response")
    expected = section("Expected answer") or section("Request")
    good = bool(expected) and expected.lower() in response.lower()
    return json.dumps({"score": 5 if good else 1, "rationale": "matches" if good else "does not match"})


class _Handler(BaseHTTPRequestHandler):
    server: FakeLLMServer  # type: ignore[assignment]

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        if self.path.endswith("/responses"):
            self._responses(body)
            return
        if not self.path.endswith("/chat/completions"):
            self._send(404, {"error": {"message": "not found"}})
            return
        messages = body.get("messages") or []
        last = str(messages[-1]["content"]) if messages else ""
        if "HTTP500" in last:
            self._send(500, {"error": {"message": "boom"}})
            return
        if "SLOW" in last:
            time.sleep(self.server.slow_seconds)
        if "MALFORMED" in last:
            content = "I think it is good, maybe a four?"
        elif '"score"' in last:
            content = _judge_answer(last)
        else:
            content = "echo: " + last
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion_tokens = len(content.split())
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if body.get("stream"):
            self._stream_chat(body, content, usage)
            return
        self._send(
            200,
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 1700000000,
                "model": body.get("model", "fake-model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        )

    def _stream_chat(self, body: dict, content: str, usage: dict) -> None:
        base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1700000000,
                "model": body.get("model", "fake-model")}  # fmt: skip
        words = content.split(" ")
        events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
        for i, word in enumerate(words):
            piece = word if i == 0 else " " + word
            events.append({**base, "choices": [{"index": 0, "delta": {"content": piece}}]})
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": usage})
        self._send_events(events)

    def _responses(self, body: dict) -> None:
        inp = body.get("input")
        if isinstance(inp, list):
            texts = [str(m.get("content", "")) for m in inp if isinstance(m, dict)]
        else:
            texts = [str(inp or "")]
        content = "echo: " + (texts[-1] if texts else "")
        usage = {
            "input_tokens": sum(len(t.split()) for t in texts),
            "output_tokens": len(content.split()),
        }
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        response = {
            "id": "resp-test",
            "object": "response",
            "created_at": 1700000000,
            "model": body.get("model", "fake-model"),
            "status": "completed",
            "output": [
                {
                    "id": "msg-test",
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": content, "annotations": []}],
                }
            ],
            "parallel_tool_calls": False,
            "tool_choice": "auto",
            "tools": [],
            "usage": usage,
        }
        if not body.get("stream"):
            self._send(200, response)
            return
        item = response["output"][0]
        part = {"type": "output_text", "text": "", "annotations": []}
        events = [
            {"type": "response.created", "response": {**response, "status": "in_progress", "output": [], "usage": None}},
            {"type": "response.output_item.added", "output_index": 0,
             "item": {**item, "status": "in_progress", "content": []}},
            {"type": "response.content_part.added", "item_id": item["id"], "output_index": 0, "content_index": 0,
             "part": part},
        ]  # fmt: skip
        for i, word in enumerate(content.split(" ")):
            events.append(
                {"type": "response.output_text.delta", "item_id": item["id"], "output_index": 0,
                 "content_index": 0, "delta": word if i == 0 else " " + word, "logprobs": []}  # fmt: skip
            )
        events += [
            {"type": "response.output_text.done", "item_id": item["id"], "output_index": 0, "content_index": 0,
             "text": content, "logprobs": []},
            {"type": "response.content_part.done", "item_id": item["id"], "output_index": 0, "content_index": 0,
             "part": {**part, "text": content}},
            {"type": "response.output_item.done", "output_index": 0, "item": item},
            {"type": "response.completed", "response": response},
        ]  # fmt: skip
        for n, ev in enumerate(events):
            ev["sequence_number"] = n
        self._send_events(events, typed=True)

    def _send_events(self, events: list, typed: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            for ev in events:
                head = f"event: {ev['type']}\n" if typed else ""
                self.wfile.write(f"{head}data: {json.dumps(ev)}\n\n".encode())
            if not typed:
                self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


class FakeLLMServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.slow_seconds = 2.0
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
