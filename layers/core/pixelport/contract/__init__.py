"""The public contract: pydantic request models, their defaults and limits (SPEC sections 2-4, 7)."""

from pixelport.contract.edit import EditRequest, parse_edit_request
from pixelport.contract.output import OutputOptions

__all__ = ["EditRequest", "OutputOptions", "parse_edit_request"]
