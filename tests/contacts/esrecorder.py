"""A stand-in Elasticsearch over real HTTP that records bulk requests and answers like a server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorder:
    """Bulk bodies received (each a list of NDJSON lines), and ids to fail."""

    bodies: list[list[dict[str, Any]]] = field(default_factory=list)
    fail_ids: set[str] = field(default_factory=set)

    def answer(self, lines: list[dict[str, Any]]) -> dict[str, Any]:
        """A bulk response: one item per action, an error for each id in fail_ids."""
        items = []
        for action in lines[0::2]:
            (verb, meta), = action.items()
            if meta["_id"] in self.fail_ids:
                items.append({verb: {"_index": meta["_index"], "_id": meta["_id"], "status": 400,
                                     "error": {"type": "mapper_parsing_exception",
                                               "reason": "failed to parse field [x]"}}})
            else:
                items.append({verb: {"_index": meta["_index"], "_id": meta["_id"],
                                     "status": 201, "result": "created"}})
        return {"took": 1, "errors": bool(self.fail_ids & {
            next(iter(a.values()))["_id"] for a in lines[0::2]}), "items": items}


def _handler(rec: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send({"version": {"number": "8.13.0"}, "tagline": "You Know, for Search"})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            lines = [json.loads(x) for x in raw.decode().splitlines() if x.strip()]
            rec.bodies.append(lines)
            self._send(rec.answer(lines))

        do_PUT = do_POST

    return Handler


@contextmanager
def elastic_recorder() -> Iterator[tuple[str, Recorder]]:
    """(ELASTIC_HOST, recorder) of a server on a free port."""
    rec = Recorder()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rec))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
