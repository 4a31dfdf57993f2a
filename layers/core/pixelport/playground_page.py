"""GET /playground: the playground, one static HTML page (static/playground.html) served by the API
function itself, so that on AWS it is at {ApiUrl}/playground, on the API's own origin, with no other
deployment step. The same file works from any static host, pointed at the API with `?api=<ApiUrl>`."""

from __future__ import annotations

from functools import cache
from pathlib import Path

PLAYGROUND = Path(__file__).with_name("static") / "playground.html"


@cache
def playground_page() -> str:
    return PLAYGROUND.read_text(encoding="utf-8")
