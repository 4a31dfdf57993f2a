"""What this deployment can do with a valid request. The contract accepts every operation of the
published API; those needing a model are refused here with 422 (SPEC section 4)."""

from __future__ import annotations

from pixelport.contract.operations import Operations, OutpaintFit
from pixelport.errors import Details

NO_MODEL = "this deployment provides no model for this operation"


def unsupported(ops: Operations) -> Details:
    """Every operation of `ops` this deployment cannot do, by field path (empty when it can do them all)."""
    found: Details = {}

    def refuse(path: str, why: str) -> None:
        found[f"operations.{path}"] = [why]

    if r := ops.restorations:
        if r.upscale is not None:
            refuse("restorations.upscale", NO_MODEL)
        if r.decompress is not None:
            refuse("restorations.decompress", NO_MODEL)
        if r.polish:
            refuse("restorations.polish", NO_MODEL)
    if bg := ops.background:
        if bg.remove is not False:
            refuse("background.remove", NO_MODEL)
        if bg.blur is not False:
            refuse("background.blur", NO_MODEL)
    if ops.privacy and (ops.privacy.blur_car_plate or ops.privacy.identity_crop):
        refuse("privacy", NO_MODEL)
    if ops.generative and ops.generative.style_transfer is not None:
        refuse("generative.style_transfer", NO_MODEL)
    if ops.adjustments and ops.adjustments.hdr != 0:
        refuse("adjustments.hdr", NO_MODEL)
    if ops.resizing and isinstance(ops.resizing.fit, OutpaintFit):
        refuse("resizing.fit", NO_MODEL)
    return found
