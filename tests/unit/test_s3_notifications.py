"""The processor reads S3's notifications itself (pixelport.staging.notified_objects), as Powertools'
S3Event would: that class's package imports every event class Powertools has (README "Cold start")."""

from __future__ import annotations

import copy
from typing import Any

from aws_lambda_powertools.utilities.data_classes import S3Event

from pixelport.staging import notified_objects
from tests.support.lambdas import load_event


def with_records(*objects: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    template = load_event("s3-put.json")["Records"][0]
    records = []
    for bucket, s3_object in objects:
        record = copy.deepcopy(template)
        record["s3"]["bucket"]["name"] = bucket
        record["s3"]["object"] = s3_object
        records.append(record)
    return {"Records": records}


def powertools_reading(event: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r.s3.bucket.name, r.s3.get_object.key) for r in S3Event(event).records]


def test_every_record_gives_its_bucket_and_key_as_s3_sent_it() -> None:
    event = with_records(
        ("ingest-a", {"key": "inputs/245094862462541", "size": 40212}),
        ("ingest-b", {"key": "uploads/12%2B3+4", "size": 1}),  # URL-encoded: parse_staged_key decodes
    )
    assert list(notified_objects(event)) == [
        ("ingest-a", "inputs/245094862462541"),
        ("ingest-b", "uploads/12%2B3+4"),
    ]


def test_it_reads_the_events_of_the_repository_as_powertools_does() -> None:
    for name in ("s3-put.json", "s3-upload.json"):
        event = load_event(name)
        assert list(notified_objects(event)) == powertools_reading(event)


def test_a_record_naming_its_object_get_object_is_read_as_powertools_reads_it() -> None:
    # Powertools: S3 Intelligent-Tiering notifications name the object "get_object", not "object".
    event = with_records(("ingest", {"key": "inputs/1"}))
    event["Records"][0]["s3"]["get_object"] = {"key": "inputs/2"}
    assert list(notified_objects(event)) == powertools_reading(event) == [("ingest", "inputs/2")]
