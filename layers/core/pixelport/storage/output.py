"""Results written to a connected storage (SPEC 2.1, 3): a file, or a folder that keeps the input's name."""

from __future__ import annotations

from pixelport.contract.references import StorageRef
from pixelport.errors import ValidationFailed
from pixelport.formats import OUTPUT_FORMATS, OutputFormatName
from pixelport.naming import exact_output_name
from pixelport.storage.connect import connector
from pixelport.storage.paths import OutsidePrefix
from pixelport.storage.registry import StorageRegistry

FIELD = "output.destination"


def write_result(
    registry: StorageRegistry,
    account: str,
    destination: StorageRef,
    *,
    source_name: str,
    fmt: OutputFormatName,
    data: bytes,
) -> dict[str, str]:
    """Write with the storage's own credentials; answers object_key, object_bucket and object_uri."""
    record = registry.by_name(account, destination.storage)
    if record is None:  # disconnected since the request was accepted
        raise ValidationFailed({FIELD: [f"storage '{destination.storage}' is not connected to this account"]})
    path = destination.path
    if destination.is_folder:
        path += exact_output_name(source_name, fmt)
    try:
        return connector(record, registry).write(path, data, OUTPUT_FORMATS[fmt].mime)
    except OutsidePrefix as exc:
        raise ValidationFailed({FIELD: [str(exc)]}) from None
