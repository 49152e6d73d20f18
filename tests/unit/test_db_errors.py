"""Database errors are judged by meaning: every connection-level failure is an outage."""

from __future__ import annotations

import asyncpg
import asyncpg.exceptions as pgexc
import pytest

from supervisor.store.db import DatabaseUnavailable, is_transient

OUTAGES = [
    # Raised in the status writer's batch write when a dead connection went back to the pool.
    pgexc.InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
    pgexc.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.InterfaceError("connection is closed"),
    asyncpg.InterfaceError("pool is closing"),
    pgexc.CannotConnectNowError("the database system is starting up"),
    pgexc.AdminShutdownError("terminating connection due to administrator command"),
    pgexc.CrashShutdownError("terminating connection because of crash of another process"),
    pgexc.IdleSessionTimeoutError("terminating connection due to idle-session timeout"),
    pgexc.TooManyConnectionsError("sorry, too many clients already"),
    pgexc.DeadlockDetectedError("deadlock detected"),
    ConnectionResetError("Connection reset by peer"),
    ConnectionRefusedError("Connect call failed"),
    TimeoutError(),
    DatabaseUnavailable("cannot connect"),
]


@pytest.mark.parametrize("exc", OUTAGES, ids=lambda e: type(e).__name__)
def test_connection_level_failures_are_transient(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize("exc", [
    asyncpg.UndefinedTableError('relation "jobs" does not exist'),
    asyncpg.DataError("invalid input"),
    pgexc.OutdatedSchemaCacheError("cached statement plan is invalid"),
    ValueError("a bug"),
    KeyError("x"),
], ids=lambda e: type(e).__name__)
def test_bugs_and_bad_data_are_not(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_a_wrapped_outage_is_still_an_outage() -> None:
    try:
        try:
            raise pgexc.ConnectionDoesNotExistError("closed")
        except Exception as inner:
            raise RuntimeError("flush failed") from inner
    except RuntimeError as outer:
        assert is_transient(outer)


def test_an_error_raised_while_handling_an_outage_is_judged_by_itself() -> None:
    try:
        try:
            raise ConnectionResetError()
        except ConnectionResetError:
            raise KeyError("bug in a handler") from None
    except KeyError as exc:
        assert not is_transient(exc)


def test_a_group_is_transient_only_if_every_error_in_it_is() -> None:
    outage = BaseExceptionGroup("x", [ConnectionResetError(), asyncpg.InterfaceError("closed")])
    mixed = BaseExceptionGroup("x", [ConnectionResetError(), ValueError("bug")])
    assert is_transient(outage)
    assert not is_transient(mixed)
