"""The [segments] settings and the segmentation schedules of config.toml, once uncommented."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.cdp.segments.jobs import SegmentationPayload
from services.cdp.segments.resources import SegmentsSettings
from supervisor.families import discover
from supervisor.schedule.service import ScheduleService, spec_from_mapping

CONFIG = Path(__file__).resolve().parents[2] / "config.toml"


def _uncommented(start: str) -> dict[str, Any]:
    text = CONFIG.read_text()
    begin = text.index(start)
    end = text.find("# ----", begin)
    block = "\n".join(line.removeprefix("# ") for line in text[begin:end].splitlines()
                      if line.startswith("# [") or "=" in line)
    return tomllib.loads(block)


def test_segmentation_schedules_are_ready_to_enable() -> None:
    tables = _uncommented("# [schedules.segmentation]")["schedules"]
    assert tables["segmentation"]["cron"] == "*/10 * * * *"
    service = ScheduleService(None, discover().registry)  # type: ignore[arg-type]
    for name, table in tables.items():
        service.check(spec_from_mapping(name, table).model_dump(exclude={"name"}))
        SegmentationPayload.model_validate(table["data"])


def test_segments_section_matches_the_settings_model() -> None:
    section = _uncommented("# [segments]\n")["segments"]
    assert SegmentsSettings.model_validate(section) == SegmentsSettings.model_validate({})


@pytest.mark.parametrize(("value", "on"), [("yes", True), ("no", False), ("YES", True),
                                           ("", False), (True, True)])
def test_triggers_switch_reads_the_reference_spelling(value: Any, on: bool) -> None:
    settings = SegmentsSettings.model_validate({"ENABLE_SEGMENTATION_WF_TRIGGERS": value})
    assert settings.enable_segmentation_wf_triggers is on


def test_page_sizes_are_bounded() -> None:
    with pytest.raises(ValidationError):
        SegmentsSettings.model_validate({"POOL_SIZE": 0})
