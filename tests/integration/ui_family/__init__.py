"""A family's dashboard page, as a family package would declare it (for test_ui_pages)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from supervisor.ui import Page
from supervisor.ui.render import render
from supervisor.ui.session import Session, viewer

router = APIRouter()


@router.get("/contacts")
async def contacts_page(request: Request, _: Session = Depends(viewer)) -> HTMLResponse:
    """A page of the family's own, in the dashboard's frame."""
    count = await request.app.state.ctx.runtime.pool.fetchval("SELECT count(*) FROM jobs")
    return render(request, "contacts.html", count=count, name="<Acme & Co>")


page = Page("Contacts", "/contacts", router, order=50, templates="tests.integration.ui_family")
