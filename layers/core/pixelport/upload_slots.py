"""Presigned S3 POSTs for large uploads (SPEC 2.4 extension): the client uploads straight into the
ingest bucket's `uploads/<task id>`, and that object's creation triggers the processor.

S3 itself enforces the POST policy: the exact key, the declared size as the upper bound, the media
type of the declared file name, and the expiry. The declared size also travels as object metadata
fixed by the policy, so the processor can check it too (moto, the local stand-in, does not enforce
POST policies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pixelport.contract.upload import UploadFile
from pixelport.sources.staged import DECLARED_SIZE_METADATA
from pixelport.staging import Staged, staged_key
from pixelport.tasks import iso_timestamp

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# SPEC 2.4: the upload is valid 15 minutes (well inside the task's deadline).
UPLOAD_SLOT_SECONDS = 15 * 60


@dataclass(frozen=True)
class UploadSlot:
    url: str
    fields: dict[str, str]
    expires_at: str

    def payload(self) -> dict[str, object]:
        return {"url": self.url, "fields": self.fields, "expires_at": self.expires_at}


def presign_upload(s3: S3Client, bucket: str, task_id: int, file: UploadFile, *, now: float) -> UploadSlot:
    declared = {"Content-Type": file.format.mime, f"x-amz-meta-{DECLARED_SIZE_METADATA}": str(file.size)}
    post = s3.generate_presigned_post(
        Bucket=bucket,
        Key=staged_key(Staged.UPLOAD, task_id),
        Fields=declared,
        Conditions=[*({k: v} for k, v in declared.items()), ["content-length-range", 1, file.size]],
        ExpiresIn=UPLOAD_SLOT_SECONDS,
    )
    return UploadSlot(
        url=str(post["url"]),
        fields={k: str(v) for k, v in post["fields"].items()},
        expires_at=iso_timestamp(now + UPLOAD_SLOT_SECONDS),
    )
