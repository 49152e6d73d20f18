"""The parse side of a large import in a child process: CSV bytes in, pickled batches out.

`python -m services.contacts.parse_child '{"gz":..,"offset":..,"line":..,"header":..,"size":..}'`
reads the object's bytes on stdin and writes frames (8-byte length, then a pickle) of Started,
each Batch, or Failed on stdout. A process of its own means parsing does not compete for the
daemon's GIL with the database writes, and uses a second core.
"""

from __future__ import annotations

import json
import pickle
import sys
from collections.abc import Iterator
from typing import IO, Any

from services.contacts.batch import Batcher
from services.contacts.pipeline import Failed, Position, Started, header_of, record_stream

CHUNK = 256 * 1024


def _stdin_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def _send(out: IO[bytes], item: Any) -> None:
    data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(data).to_bytes(8, "big"))
    out.write(data)


def main(argv: list[str]) -> int:
    """Parse stdin as the arguments say; 0 when every frame was written."""
    args = json.loads(argv[1])
    pos = Position(int(args["offset"]), int(args["line"]), args["header"])
    out = sys.stdout.buffer
    try:
        recs = record_stream(_stdin_chunks(sys.stdin.buffer), bool(args["gz"]), pos)
        header, names = header_of(recs, pos)
        _send(out, Started(header, names))
        for batch in Batcher(header, int(args["size"])).batches(recs):
            _send(out, batch)
    except BrokenPipeError:
        return 1  # the daemon stopped listening (it failed, stopped, or died)
    except Exception as exc:
        _send(out, Failed(exc))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
