"""Step publish_tracker: the last week's tracker published as the latest serving state."""
from __future__ import annotations

import logging

from weekly.io import read_json, write_json

log = logging.getLogger(__name__)


def publish_tracker(*, tracker: str, latest: str) -> None:
    """Publish the last week's tracker as the latest serving state, `latest`."""
    state = read_json(tracker)
    write_json(latest, state)
    log.info("latest tracker: week %s, version %s", state["week"], state["model_version"])
