"""moto's DynamoDB answers, serialised without walking the model for every attribute value.

moto serialises each answer by walking the botocore model: for every AttributeValue of an item it
tries each of the ten members (S, N, B, SS, ... BOOL) under several spellings. The tasks' items
(request, result, history) make that most of the CPU time of a GetItem or an UpdateItem with
ReturnValues on `make run`, under the lock that serialises DynamoDB (moto_server.SerializedDynamoDB):
every poll of a sync edit's wait and every claim paid it. moto keeps attribute values in wire form
already ({"S": "..."}, {"M": {...}}, ...), so this serializer copies them as they are, after checking
the shape; a binary value (B, BS) or anything unexpected takes moto's own path, so the answer is the
one moto would give (tests/unit/test_local_moto_dynamodb_json.py compares them).
"""

from __future__ import annotations

from typing import Any

from moto.core import serialize
from moto.dynamodb.models.dynamo_type import DynamoType

_STRINGS = frozenset({"S", "N"})
_BOOLEANS = frozenset({"BOOL", "NULL"})
_STRING_SETS = frozenset({"SS", "NS"})


def plain(value: Any) -> dict[str, Any] | None:
    """`value` as the wire's AttributeValue when it holds only strings, numbers, booleans, nulls,
    lists, maps and string or number sets; None otherwise (moto's serializer then decides)."""
    if isinstance(value, DynamoType):
        value = value.to_json()
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((tag, inner),) = value.items()
    if tag in _STRINGS:
        return {tag: inner} if isinstance(inner, str) else None
    if tag in _BOOLEANS:
        return {tag: inner} if isinstance(inner, bool) else None
    if tag in _STRING_SETS:
        if isinstance(inner, list) and all(isinstance(v, str) for v in inner):
            return {tag: list(inner)}
        return None
    if tag == "M" and isinstance(inner, dict):
        members: dict[str, Any] = {}
        for name, member in inner.items():
            if not isinstance(name, str) or (copied := plain(member)) is None:
                return None
            members[name] = copied
        return {"M": members}
    if tag == "L" and isinstance(inner, list):
        items = []
        for member in inner:
            if (copied := plain(member)) is None:
                return None
            items.append(copied)
        return {"L": items}
    return None


class DynamoDBJSONSerializer(serialize.JSONSerializer):
    """moto's JSON serializer, AttributeValues copied (see the module's docstring)."""

    def _serialize_type_structure(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue" and (copied := plain(value)) is not None:
            self._default_serialize(serialized, copied, shape, key)
            return
        super()._serialize_type_structure(serialized, value, shape, key)


def install() -> None:
    """DynamoDB's answers in this process go through DynamoDBJSONSerializer (moto's own hook for a
    service's serializer); only the local moto server's process calls this."""
    serialize.SERVICE_SPECIFIC_SERIALIZERS["dynamodb"] = {"json": DynamoDBJSONSerializer}


def uninstall() -> None:
    serialize.SERVICE_SPECIFIC_SERIALIZERS.pop("dynamodb", None)
