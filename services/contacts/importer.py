"""insert_csv_file: stream a CSV object into companies and contacts, batch by batch, resumably."""

from __future__ import annotations

import csv
import io
import logging
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from services.contacts import pipeline
from services.contacts.batch import BadRow, Batch, raw_row, split_by_line
from services.contacts.mapping import HeaderError
from services.contacts.pipeline import EmptyFile, Position, Source, Started
from services.contacts.resources import ContactsResources
from services.contacts.search import batch_operations
from services.contacts.store import ImportStore, Written
from services.contacts.writer import REFUSED, Loaded, Writer, spare_connection
from services.shared.elastic import bulk
from services.shared.objects import BucketNotFound, ObjectInfo, ObjectNotFound
from supervisor.errors import PermanentError
from supervisor.jobtypes import JobContext

log = logging.getLogger("services.contacts.import")
FIRST_BAD_ROWS = 100  # bad rows quoted in job_response; all of them go to <key>.errors.csv
SAVE_EVERY = 1.0  # seconds between checkpoints (and progress reports)


@dataclass
class Tally:
    """Counts of an import so far, carried across attempts in the checkpoint."""

    rows: int = 0
    # Rows the upserts inserted or changed, not the rows of the file that name them: a company
    # named by 20 rows counts once, and an unchanged row (a re-import) not at all.
    companies_changed: int = 0
    contacts_changed: int = 0
    bad: int = 0

    @classmethod
    def of(cls, saved: dict[str, Any]) -> Tally:
        """The counts of a checkpoint, also one written by an older version with other keys."""
        return cls(**{k: int(v) for k, v in saved.items() if k in cls.__dataclass_fields__})


def _fix_hint(key: str) -> str:
    return (f"upload the file first (supervisor data import FILE, or PUT to the upload_url of "
            f"GET /common/upload-url?filename=...) or correct s3_key {key!r}")


class CsvImport:
    """One run (attempt) of one insert_csv_file job."""

    def __init__(self, ctx: JobContext[ContactsResources], key: str, bucket: str | None) -> None:
        self.ctx = ctx
        self.res = ctx.resources
        self.key = key
        self.bucket = bucket or self.res.objects.default_bucket
        self.gz = key.lower().endswith(".gz")
        self.pos = Position()
        self.tally = Tally()
        self.size = 0
        self.ignored: list[str] = []
        self.source: Source | None = None
        self._saved = time.monotonic()

    async def stat(self) -> ObjectInfo:
        """The object's size, or PermanentError when there is nothing to import."""
        try:
            info = await self.res.objects.stat(self.key, bucket=self.bucket)
        except ObjectNotFound as exc:
            raise PermanentError(f"s3 key {self.key!r} does not exist in bucket "
                                 f"{self.bucket!r}; {_fix_hint(self.key)}") from exc
        except BucketNotFound as exc:
            raise PermanentError(f"bucket {self.bucket!r} of s3 key {self.key!r} does not "
                                 "exist; create it, or set s3_bucket (or S3_BUCKET) to an "
                                 "existing bucket") from exc
        if info.size == 0:
            raise PermanentError(f"s3 key {self.key!r} in bucket {self.bucket!r} is empty "
                                 "(0 bytes); upload the CSV again")
        return info

    def resume(self, size: int) -> bool:
        """Take up the last attempt's checkpoint if it is of this object; True if resumed."""
        state = self.ctx.checkpoint_state or {}
        self.size = size
        same = (state.get("key"), state.get("bucket"), state.get("size")) == (
            self.key, self.bucket, size)
        if not same or state.get("finished") or "offset" not in state:
            return False
        self.pos = Position(int(state["offset"]), int(state["line"]), list(state["header"]))
        self.tally = Tally.of(state["tally"])
        self.ignored = list(state.get("ignored", []))
        return True

    def state(self, finished: bool = False) -> dict[str, Any]:
        """The checkpoint: where the last committed batch ended, and the counts so far."""
        return {"key": self.key, "bucket": self.bucket, "size": self.size,
                "offset": self.pos.offset, "line": self.pos.line, "header": self.pos.header,
                "ignored": self.ignored, "tally": asdict(self.tally), "finished": finished}

    async def run(self) -> dict[str, Any]:
        """Import the object from the start or the checkpoint; the job_response additions."""
        info = await self.stat()
        resumed = self.resume(info.size)
        log.info("import starts", extra={"action": "import_start", "job": str(self.ctx.uuid),
                                         "key": self.key, "offset": self.pos.offset,
                                         "resumed": resumed})
        async with self.ctx.db.acquire() as conn, spare_connection(self.ctx.db) as spare:
            stores = [ImportStore(c) for c in (conn, spare) if c is not None]
            for store in stores:
                await store.prepare()
            if not resumed:
                await stores[0].forget_bad_rows(self.ctx.uuid)
            if self.gz or self.pos.offset < info.size:  # else it crashed after the last batch
                await self._parse(Writer(self.ctx.uuid, stores, self.complete))
            return await self._finish(stores[0])

    async def _parse(self, writer: Writer) -> None:
        try:
            await self._read(writer.each)
            await writer.drain()
        finally:
            await writer.discard()

    async def _read(self, each: Callable[[Batch], Awaitable[None]]) -> None:
        async def started(item: Started, source: Source) -> None:
            self.pos.header, self.source = item.names, source
            self.ignored = list(item.header.ignored)

        try:
            await pipeline.run(self.res.objects, self.key, self.bucket, gz=self.gz,
                               pos=self.pos, batch_size=self.res.settings.batch_size_for_insertion,
                               on_start=started, on_batch=each,
                               in_process=self._in_child())
        except (HeaderError, EmptyFile) as exc:
            raise PermanentError(f"s3 key {self.key!r} cannot be imported: {exc}; the first "
                                 "line must be a header naming columns such as first_name, "
                                 "last_name, email, company") from exc
        except zlib.error as exc:
            raise PermanentError(f"s3 key {self.key!r} ends in .gz but is not a whole gzip "
                                 f"stream ({exc}); upload it again, or without the .gz "
                                 "suffix if it is plain CSV") from exc
        except ObjectNotFound as exc:
            raise PermanentError(f"s3 key {self.key!r} disappeared during the import; "
                                 f"{_fix_hint(self.key)}") from exc

    def _in_child(self) -> bool:
        threshold = self.res.settings.parse_in_child_from_mb
        return bool(threshold) and self.size >= threshold * 1024 * 1024

    async def complete(self, loaded: Loaded) -> None:
        """Upsert and commit a loaded batch (row by row if refused), then count and save."""
        store, batch = loaded.store, loaded.batch
        if loaded.tr is None:
            assert loaded.refused is not None
            written = await self._salvage(store, batch, loaded.refused)
        else:
            try:
                written = await store.apply(loaded.tr, batch)
                loaded.applied = True
            except REFUSED as exc:
                written = await self._salvage(store, batch, exc)
        if self.res.elastic is not None:
            await bulk(self.res.elastic, batch_operations(
                batch, company_index=self.res.company_index,
                contact_index=self.res.contact_index))
        t = self.tally
        t.rows += batch.rows
        t.companies_changed += written.companies
        t.contacts_changed += written.contacts
        t.bad += len(batch.bad)
        self.pos.offset, self.pos.line = batch.end, batch.line
        stopping = self.ctx.should_stop()
        if stopping or time.monotonic() - self._saved >= SAVE_EVERY:
            self._saved = time.monotonic()
            await self.ctx.checkpoint(self.state())
            read = self.source.read if self.source is not None else self.pos.offset
            await self.ctx.progress(read, self.size, f"{t.rows} rows imported, {t.bad} bad rows")
        if stopping:
            self.ctx.stop()

    async def _salvage(self, store: ImportStore, batch: Batch, exc: Exception) -> Written:
        """The database refused a value of the batch: write its rows one line at a time."""
        log.warning("a batch was refused; writing it row by row", extra={
            "action": "import_salvage", "job": str(self.ctx.uuid), "line": batch.line,
            "error": str(exc)})
        companies = contacts = 0
        bad = list(batch.bad)
        for line, part in split_by_line(batch):
            try:
                done = await store.write(self.ctx.uuid, part)
            except REFUSED as refused:
                reason = f"the database refused a value: {type(refused).__name__}: {refused}"
                bad.append(BadRow(line, reason[:1000], raw_row(batch.sources.get(line, []))))
                continue
            companies += done.companies
            contacts += done.contacts
        batch.bad = bad
        rest = Batch(filters=batch.filters, bad=bad)
        try:
            await store.write(self.ctx.uuid, rest)
        except REFUSED:  # a facet value it cannot index: the rows matter, the facets do not
            await store.write(self.ctx.uuid, Batch(bad=bad))
        return Written(companies, contacts)

    async def _finish(self, store: ImportStore) -> dict[str, Any]:
        job = self.ctx.uuid
        bad = await store.bad_row_count(job)
        first = await store.first_bad_rows(job, FIRST_BAD_ROWS)
        errors_key = f"{self.key}.errors.csv"
        if bad:
            await self.res.objects.write(errors_key, _errors_csv(store, job),
                                         bucket=self.bucket, content_type="text/csv")
        else:  # a stale report of an earlier import of this key would mislead
            await self.res.objects.delete(errors_key, bucket=self.bucket)
        await store.forget_bad_rows(job)
        self.tally.bad = bad
        await self.ctx.checkpoint(self.state(finished=True))
        await self.ctx.progress(self.size, self.size, f"{self.tally.rows} rows imported")
        t = self.tally
        log.info("import done", extra={"action": "import_done", "job": str(job),
                                       "key": self.key, "rows": t.rows, "bad_rows": bad})
        return {
            "messages": f"{t.rows} rows imported, {t.companies_changed} companies, "
                        f"{t.contacts_changed} contacts, {bad} bad rows",
            "rows": t.rows, "companies": t.companies_changed, "contacts": t.contacts_changed,
            "bad_rows": bad, "first_bad_rows": first, "errors_s3_key": errors_key if bad else None,
            "ignored_columns": self.ignored,
        }


async def _errors_csv(store: ImportStore, job: Any) -> AsyncIterator[bytes]:
    """<key>.errors.csv: line, reason and the row's text of every bad row, in line order."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "reason", "row"])
    async for bad in store.bad_rows(job):
        writer.writerow([bad.line, bad.reason, bad.raw])
        if out.tell() > 256 * 1024:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()
