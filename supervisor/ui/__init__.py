"""The web dashboard at /ui, served by the api service; and the page registry families use.

A family adds a page by listing `Page(title, path, router, order)` in its `Family.pages`; the
router's routes (relative to /ui) take `Depends(supervisor.ui.session.viewer)` for the session
(`Depends(supervisor.ui.forms.change)` for a state change) and answer with
`supervisor.ui.render.render(...)`, as the built-in pages do. This package's top level imports
only `Page`, so `supervisor.families` can import it without pulling in the API; the app mounts
everything with `supervisor.ui.mount.install_ui`.
"""

from supervisor.ui.pages import Page

__all__ = ["Page"]
