"""The processes page: every node with its roles, heartbeat, lanes and jobs per minute."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from supervisor.ui import figures
from supervisor.ui.pages import Page
from supervisor.ui.render import render
from supervisor.ui.session import Session, viewer

router = APIRouter(include_in_schema=False)


@router.get("/processes")
async def processes_page(request: Request, _: Session = Depends(viewer)) -> HTMLResponse:
    """Every process seen in the last day."""
    report = await figures.status_report(request, show_all=True)
    return render(request, "processes.html", report=report)


@router.get("/processes/live")
async def processes_live(request: Request, _: Session = Depends(viewer)) -> HTMLResponse:
    """The process table alone, polled every 2 s."""
    report = await figures.status_report(request, show_all=True)
    return render(request, "processes_live.html", report=report)


page = Page("Processes", "/processes", router, order=40)
