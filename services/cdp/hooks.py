"""Post-event hooks: code that runs after each collected batch of events is stored.

Segmentation and post-collection mapping plug in here. A hook is an async callable taking a
`Collected` (services.cdp.collector): the profile and session ids, the events of the payload as
stored (system events first, then the tracker's, each an `Event` with `.document()`), which
events were ephemeral (not stored), and whether the profile or session was created. Hooks run
after the transaction committed, in registration order, on the same request; an exception in a
hook is logged with its traceback and does not fail the request or the other hooks.

    from services.cdp.hooks import register_post_event_hook

    async def segment(collected: Collected) -> None: ...
    register_post_event_hook(segment)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.cdp.collector import Collected

log = logging.getLogger("services.cdp.hooks")

PostEventHook = Callable[["Collected"], Awaitable[Any]]
_HOOKS: list[PostEventHook] = []


def register_post_event_hook(hook: PostEventHook) -> None:
    """Run `hook` after every collected batch (once, however often it is registered)."""
    if hook not in _HOOKS:
        _HOOKS.append(hook)


def unregister_post_event_hook(hook: PostEventHook) -> None:
    """Stop running `hook`."""
    if hook in _HOOKS:
        _HOOKS.remove(hook)


def post_event_hooks() -> tuple[PostEventHook, ...]:
    """The hooks registered now, in order."""
    return tuple(_HOOKS)


async def run_post_event_hooks(collected: Collected) -> list[str]:
    """Run every hook on a stored batch; returns the failures as 'hook: Type: message'."""
    failures: list[str] = []
    for hook in post_event_hooks():
        try:
            await hook(collected)
        except Exception as exc:
            name = getattr(hook, "__qualname__", repr(hook))
            log.exception("post-event hook failed", extra={
                "action": "cdp_hook_failed", "hook": name, "session": collected.session_id})
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    return failures
