"""The answers of the API (SPEC 1, 2, 5), as models for the OpenAPI document.

The routes build their payloads in `pixelport.responses` and `pixelport.storage.views`; these models
describe them, and `tests/unit/test_openapi.py` checks real payloads against them, so a change to one
without the other fails a test.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel as PydanticModel
from pydantic import ConfigDict, Field

from pixelport.contract.storage import StorageType


class BaseModel(PydanticModel):
    """The answers' base: their schemas are built when first used (the OpenAPI document, the tests),
    not when the API function starts: 0.1 s of its cold start otherwise."""

    model_config = ConfigDict(defer_build=True)


TaskStatus = Literal["ACCEPTED", "PROCESSING", "DONE", "ERROR"]


class ImageInfo(BaseModel):
    ext: str = Field(description="file extension, without the dot", examples=["jpg"])
    mps: float = Field(description="megapixels: width x height / 1,000,000", examples=[4.1472])
    mime: str = Field(description="media type", examples=["image/jpeg"])
    format: str = Field(description="format name, upper case", examples=["JPEG"])
    width: int = Field(ge=1, description="width in pixels")
    height: int = Field(ge=1, description="height in pixels")


class OutputInfo(ImageInfo):
    tmp_url: str | None = Field(
        None, description="public URL of a temporary result; it stops working 24 hours after it was written"
    )
    object_key: str | None = Field(None, description="key of the result in connected storage")
    object_bucket: str | None = Field(None, description="bucket of the result in connected storage")
    object_uri: str | None = Field(None, description="storage://name/key of the result in connected storage")


class EditResult(BaseModel):
    input: ImageInfo = Field(description="the image as read, before the operations")
    output: OutputInfo = Field(description="the result as written, and where: tmp_url or object_*")


class TaskError(BaseModel):
    error: str = Field(description="why the task failed, for humans")
    created_at: str | None = Field(None, description="when it failed (ISO 8601)")


class TaskResult(BaseModel):
    """`{}` until the task is DONE."""

    input_object: ImageInfo | None = Field(None, description="the image as read; set when DONE")
    output_object: OutputInfo | None = Field(None, description="the result as written; set when DONE")


class EditTask(BaseModel):
    id: int = Field(description="the task id")
    status: TaskStatus = Field(description="ACCEPTED, then PROCESSING, then DONE or ERROR (every task ends)")
    result_url: str = Field(description="absolute URL of GET /v1/image/edit/async/{task_id}")
    created_at: str = Field(description="when the task was accepted (ISO 8601)")
    request: dict[str, Any] | None = Field(description="the edit request as sent")
    errors: list[TaskError] = Field(description="empty unless status is ERROR")
    result: TaskResult = Field(description="input_object and output_object when DONE; {} before")


class UploadSlot(BaseModel):
    url: str = Field(description="where to POST the file (multipart/form-data)")
    fields: dict[str, str] = Field(description="form fields to send, in order, before the `file` part")
    expires_at: str = Field(description="the slot refuses uploads after this time (ISO 8601)")


class UploadEditTask(EditTask):
    upload: UploadSlot = Field(description="the presigned S3 POST: uploading the file there starts the task")


class BatchInputInfo(ImageInfo):
    object_uri: str | None = Field(None, description="the input, when it came from connected storage")
    url: str | None = Field(None, description="the input, when it was a URL")


class BatchInputName(BaseModel):
    object_uri: str | None = Field(None, description="the input, when it came from connected storage")
    url: str | None = Field(None, description="the input, when it was a URL")


class BatchResult(BaseModel):
    input_object: BatchInputInfo = Field(description="the image as read, and which input it was")
    output_object: OutputInfo = Field(description="the result as written")


class BatchError(BaseModel):
    error: str = Field(description="why this image failed, for humans")
    created_at: str | None = Field(None, description="when it failed (ISO 8601)")
    input_object: BatchInputName = Field(description="which input failed")


class BatchProgress(BaseModel):
    images: int = Field(description="images found so far (all of them once listing_complete)")
    done: int = Field(description="images that ended DONE")
    failed: int = Field(description="images that ended ERROR")
    listing_complete: bool = Field(description="false while a folder is still being listed")


class BatchTask(BaseModel):
    id: int = Field(description="the batch id")
    status: TaskStatus = Field(description="DONE when every image ended; ERROR only if every image failed")
    result_url: str = Field(description="absolute URL of GET /v1/image/edit/batch/{task_id}")
    created_at: str = Field(description="when the batch was accepted (ISO 8601)")
    request: dict[str, Any] | None = Field(description="the batch request as sent")
    results: list[BatchResult] = Field(description="images that ended DONE, in this page")
    errors: list[BatchError] = Field(description="images that ended ERROR, in this page")
    progress: BatchProgress = Field(description="counts over the whole batch, not only this page")
    next_url: str | None = Field(
        description="the next page of results and errors (1,000 images a page), null on the last"
    )


class BatchAnswer(BaseModel):
    data: BatchTask = Field(description="the batch")


class Webhook(BaseModel):
    url: str = Field(description="where DONE and ERROR of tasks (every edit route) and batches are POSTed")
    created_at: str = Field(description="when the webhook was set (ISO 8601)")


class WebhookAnswer(BaseModel):
    data: Webhook = Field(description="the webhook, without its secret")


class AccessKey(BaseModel):
    access_key: str = Field(description="the access key id; the secret is never answered")


class StorageShown(BaseModel):
    """A connected storage as answered: no secret ever; `credentials.access_key` in the detailed form."""

    id: int = Field(description="the storage id, for the /v1/storage/storages/{storage_id} routes")
    name: str = Field(description="the <name> of storage://<name>/<path>")
    type: StorageType = Field(description="web_folder (read-only), s3 or gcs")
    parameters: dict[str, str | AccessKey] = Field(
        description="bucket and path (s3, gcs) or base_url (web_folder); credentials.access_key only"
    )
    created_at: str = Field(description="when the storage was connected (ISO 8601)")


class EditAnswer(BaseModel):
    data: EditResult = Field(description="the input and the output image")


class TaskAnswer(BaseModel):
    data: EditTask = Field(description="the task")


class UploadTaskAnswer(BaseModel):
    data: UploadEditTask = Field(description="the task, waiting for its upload, and where to upload")


class StorageTypesAnswer(BaseModel):
    data: list[StorageType] = Field(description="the types a storage can have")


class StorageListAnswer(BaseModel):
    data: list[StorageShown] = Field(description="the account's storages, without credentials")


class StorageAnswer(BaseModel):
    data: StorageShown = Field(description="the storage")


class ErrorAnswer(BaseModel):
    """Every non-2xx answer (SPEC 1); 429 nests it under `detail`."""

    error_code: str = Field(description="stable code; the README's table lists them", examples=["9000"])
    error_type: Literal["auth", "validation", "general", "image", "storage", "user"] = Field(
        description="the family of the failure"
    )
    error_message: str = Field(description="for humans: several reasons joined as sentences")
    error_details: dict[str, list[str]] = Field(
        description="dotted field path -> messages; {} when no field is to blame"
    )


class RateLimitedAnswer(BaseModel):
    detail: ErrorAnswer = Field(
        description="the error envelope (code 2001); RateLimit-Reset says when to retry"
    )
