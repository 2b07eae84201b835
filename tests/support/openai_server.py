"""A local OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

It serves ``POST /v1/chat/completions`` with ``usage`` fields, so the real openai client runs
against it. Behaviour is set per model: :meth:`LocalOpenAICompatServer.script` queues one-shot
actions (consumed one per request), :meth:`set_default` sets what happens after the queue is
empty. Actions:

- ``ok``: answer (text from ``responder(model, messages)``);
- ``429`` / ``500`` / ``503``: an OpenAI-style error body with that status;
- ``timeout``: sleep ``slow_s`` before answering (longer than the client's timeout);
- ``malformed``: status 200, ``application/json``, but a body that is not JSON;
- ``no_choices``: valid JSON without choices;
- ``echo_key``: 401 whose message repeats the bearer token, as real providers partly do.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[str, list[dict[str, Any]]], str]
ACTIONS = {"ok", "429", "500", "503", "timeout", "malformed", "no_choices", "echo_key"}


def echo_responder(model: str, messages: list[dict[str, Any]]) -> str:
    """Default answer: names the model and echoes the start of the last message."""
    return f"[{model}] answer to: {str(messages[-1]['content'])[:60]}"


def count_words(text: str) -> int:
    """Token stand-in for the usage fields: whitespace-separated words."""
    return len(text.split())


class _Handler(BaseHTTPRequestHandler):
    owner: LocalOpenAICompatServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        model, messages = body.get("model", ""), body.get("messages", [])
        action = self.owner._next_action(model, body, self.headers.get("authorization", ""))
        if action == "timeout":
            time.sleep(self.owner.slow_s)
            action = "ok"
        if action in {"429", "500", "503"}:
            headers = {"retry-after": self.owner.retry_after} if self.owner.retry_after else {}
            self._send(int(action), {"error": {"message": f"injected {action}",
                                               "type": "server_error"}}, headers)
        elif action == "echo_key":
            token = self.headers.get("authorization", "").removeprefix("Bearer ")
            self._send(401, {"error": {"message": f"Incorrect API key provided: {token}",
                                       "type": "invalid_request_error"}})
        elif action == "malformed":
            self._send_raw(200, b'{"id": "x", "choices": [ {"message": ', {})
        elif action == "no_choices":
            self._send(200, {"id": "chatcmpl-local", "object": "chat.completion", "model": model})
        else:
            text = self.owner.responder(model, messages)
            prompt = sum(count_words(str(m.get("content", ""))) for m in messages)
            completion = count_words(text)
            self._send(200, {
                "id": f"chatcmpl-local-{len(self.owner.requests)}", "object": "chat.completion",
                "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion},
            })

    def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), headers or {})

    def _send_raw(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            pass


class LocalOpenAICompatServer:
    """Threaded server on an ephemeral 127.0.0.1 port; use as a context manager."""

    def __init__(self, responder: Responder = echo_responder, slow_s: float = 1.0,
                 retry_after: str | None = None):
        self.responder = responder
        self.slow_s = slow_s
        self.retry_after = retry_after
        self.requests: list[dict[str, Any]] = []
        self._queues: dict[str, deque[str]] = defaultdict(deque)
        self._defaults: dict[str, str] = {}
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"owner": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False  # do not wait for a handler that is sleeping
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)  # short poll: shutdown returns fast

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give the openai client."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, model: str, *actions: str) -> None:
        """Queue one-shot actions for ``model``, consumed one per request, in order."""
        self._check(actions)
        with self._lock:
            self._queues[model].extend(actions)

    def set_default(self, model: str, action: str) -> None:
        """What ``model`` does once its queue is empty (``ok`` unless set)."""
        self._check([action])
        with self._lock:
            self._defaults[model] = action

    def calls(self, model: str | None = None) -> int:
        """Requests received (for ``model``, or in all)."""
        with self._lock:
            return sum(1 for r in self.requests if model is None or r["model"] == model)

    def _next_action(self, model: str, body: dict[str, Any], authorization: str) -> str:
        with self._lock:
            queue = self._queues[model]
            action = queue.popleft() if queue else self._defaults.get(model, "ok")
            self.requests.append({"model": model, "body": body, "action": action,
                                  "has_bearer": authorization.startswith("Bearer ")})
            return action

    @staticmethod
    def _check(actions: Any) -> None:
        bad = [a for a in actions if a not in ACTIONS]
        if bad:
            raise ValueError(f"unknown action(s) {bad}; known: {sorted(ACTIONS)}")

    def __enter__(self) -> LocalOpenAICompatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
