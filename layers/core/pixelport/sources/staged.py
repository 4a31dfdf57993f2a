"""The processor's side of an input: the bytes behind an ingest-bucket key (staging.py), whichever
way they came: staged by the API, uploaded by the client, or fetched here for the async route."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pixelport.contract.limits import limits
from pixelport.errors import INPUT_TOO_LARGE, PixelportError
from pixelport.sniff import require_image
from pixelport.sources.url import Fetched, fetch_input
from pixelport.staging import Staged, StagedKey

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

# Object metadata a presigned upload must carry (its POST policy fixes the value): the declared size.
DECLARED_SIZE_METADATA = "declared-size"


@dataclass(frozen=True)
class InputBytes:
    data: bytes
    name: str  # the input's file name, for the output's name; "" when the task already has it


def read_input(
    s3: S3Client,
    bucket: str,
    staged: StagedKey,
    *,
    source_url: str,
    fetcher: Callable[[str], Fetched] = fetch_input,
    opened: Callable[[], GetObjectOutputTypeDef] | None = None,
) -> InputBytes:
    """The input's bytes; a `PixelportError` (the sync route's code and message) when the source fails.
    `opened` answers the staged object's GetObject when the caller sent it already."""
    if staged.kind is Staged.REQUEST:
        fetched = fetcher(source_url)
        require_image(fetched.data)
        return InputBytes(fetched.data, fetched.name)
    obj = opened() if opened is not None else s3.get_object(Bucket=bucket, Key=staged.key)
    size = obj["ContentLength"]
    if size > limits().max_input_bytes:
        raise PixelportError(INPUT_TOO_LARGE, f"input is larger than {limits().max_input_bytes} bytes")
    declared = obj.get("Metadata", {}).get(DECLARED_SIZE_METADATA)
    # The policy fixes this value; anything but plain ASCII digits is ignored rather than trusted.
    if (
        staged.kind is Staged.UPLOAD
        and declared
        and declared.isascii()
        and declared.isdigit()
        and size > int(declared)
    ):
        # S3 refuses this under the upload's POST policy; this is the second line of defence.
        raise PixelportError(
            INPUT_TOO_LARGE, f"the upload is {size} bytes, more than the {declared} declared"
        )
    data = obj["Body"].read()
    if staged.kind is Staged.UPLOAD:
        require_image(data)  # the API sniffed every other input before staging it
    return InputBytes(data, "")
