"""The body of PUT /v1/account/webhook (SPEC 2.2's webhook, an extension)."""

from __future__ import annotations

from pydantic import Field, field_validator

from pixelport.contract.base import StrictModel
from pixelport.contract.limits import limits
from pixelport.contract.source_url import check_source_url


class WebhookBody(StrictModel):
    url: str = Field(
        min_length=1,
        description="an http(s) URL on a public address; ended tasks and batches are POSTed to it",
        json_schema_extra=lambda schema: schema.update(maxLength=limits().max_input_url_length),
    )
    secret: str = Field(
        min_length=16, max_length=256, description="signs every delivery (HMAC-SHA256); never shown again"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        check_source_url(value, max_length=limits().max_input_url_length)
        return value
