"""The README's before/after pictures are what the service makes (scripts/make_readme_examples.py),
each is shown in the README with the request that made it, and they stay small."""

from __future__ import annotations

import importlib.util
import io
import json
import re
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def script() -> ModuleType:
    path = ROOT / "scripts/make_readme_examples.py"
    spec = importlib.util.spec_from_file_location("make_readme_examples", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXAMPLES: dict[str, dict[str, object]] = script().EXAMPLES


def pixels(data: bytes) -> npt.NDArray[np.int16]:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_each_committed_after_picture_is_what_the_pipeline_makes_of_the_before_picture(name: str) -> None:
    committed = (ROOT / "docs/examples" / f"{name}.jpg").read_bytes()
    made = script().rendered(EXAMPLES[name], (ROOT / "docs/examples/before.jpg").read_bytes())
    a, b = pixels(committed), pixels(made)
    assert a.shape == b.shape
    assert float(np.abs(a - b).mean()) < 1.0
    assert len(committed) < 60_000


def test_the_readme_shows_every_picture_with_the_operations_that_made_it() -> None:
    for name, operations in EXAMPLES.items():
        row = re.search(rf"^\|.*docs/examples/{re.escape(name)}\.jpg.*$", README, re.M)
        assert row, f"README does not show docs/examples/{name}.jpg"
        assert json.dumps(operations) in row.group(0), f"README shows {name} with other operations"


def test_the_before_picture_is_the_generated_scene() -> None:
    assert np.array_equal(
        pixels((ROOT / "docs/examples/before.jpg").read_bytes()), pixels(script().source_bytes())
    )
