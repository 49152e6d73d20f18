"""The overview page: jobs per state and type, queues, throughput, processes, stalls."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from supervisor.states import ALL_STATUSES
from supervisor.ui import figures
from supervisor.ui.pages import Page
from supervisor.ui.render import render
from supervisor.ui.session import Session, viewer

router = APIRouter(include_in_schema=False)


@router.get("")
async def overview_page(request: Request, _: Session = Depends(viewer)) -> HTMLResponse:
    """The whole overview page."""
    data = figures.overview(await figures.status_report(request))
    return render(request, "overview.html", statuses=ALL_STATUSES, **data)


@router.get("/overview/live")
async def overview_live(request: Request, _: Session = Depends(viewer)) -> HTMLResponse:
    """The overview's figures alone, polled by the page every 2 s."""
    data = figures.overview(await figures.status_report(request))
    return render(request, "overview_live.html", statuses=ALL_STATUSES, **data)


@router.get("/overview/throughput.json")
async def overview_throughput(request: Request, _: Session = Depends(viewer)) -> JSONResponse:
    """Completed and failed jobs per minute over the last hour, for the chart."""
    return JSONResponse(await figures.throughput(request),
                        headers={"cache-control": "no-store"})


page = Page("Overview", "", router, order=10)
