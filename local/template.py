"""Reading template.yaml: CloudFormation tags, SAM globals, and intrinsic functions resolved locally."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, !GetAtt, ...)."""


def _construct_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    key = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node for !{suffix}", node.start_mark)
    return {key: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open() as fh:
        data = yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    assert isinstance(data, dict)
    return data


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    timeout: float
    memory: int
    environment: dict[str, Any]  # unresolved values (may hold intrinsics)
    layers: list[str]  # logical ids
    events: dict[str, Any]
    event_invoke_config: dict[str, Any] = field(default_factory=dict)


class Template:
    def __init__(self, data: Mapping[str, Any] | None = None):
        self.data: Mapping[str, Any] = data if data is not None else load_template()
        self.resources: Mapping[str, Any] = self.data["Resources"]

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.resources.items() if res.get("Type") == kind}

    def functions(self) -> dict[str, FunctionSpec]:
        defaults = self.data.get("Globals", {}).get("Function", {})
        specs = {}
        for name, res in self.of_type("AWS::Serverless::Function").items():
            props = {**defaults, **res.get("Properties", {})}
            env = {
                **defaults.get("Environment", {}).get("Variables", {}),
                **res.get("Properties", {}).get("Environment", {}).get("Variables", {}),
            }
            layers = [*defaults.get("Layers", []), *res.get("Properties", {}).get("Layers", [])]
            events = {**props.get("Events", {}), **self._event_source_mappings(name)}
            specs[name] = FunctionSpec(
                logical_id=name,
                code_uri=ROOT / props["CodeUri"],
                handler=props["Handler"],
                timeout=float(props.get("Timeout", 3)),
                memory=int(props.get("MemorySize", 128)),
                environment=env,
                layers=[layer["Ref"] for layer in layers],
                events=events,
                event_invoke_config=props.get("EventInvokeConfig", {}),
            )
        return specs

    def _event_source_mappings(self, function: str) -> dict[str, Any]:
        """SQS sources declared as AWS::Lambda::EventSourceMapping, in the shape of a SAM SQS event."""
        return {
            name: {
                "Type": "SQS",
                "Properties": {
                    "Queue": props["EventSourceArn"],
                    "BatchSize": props.get("BatchSize", 10),
                    **{k: v for k, v in props.items() if k == "FunctionResponseTypes"},
                },
            }
            for name, res in self.of_type("AWS::Lambda::EventSourceMapping").items()
            if (props := res["Properties"]).get("FunctionName")
            in ({"Ref": function}, {"Ref": f"{function}.Alias"})
        }

    def layer_dir(self, logical_id: str) -> Path:
        return ROOT / str(self.resources[logical_id]["Properties"]["ContentUri"])

    def parameter_default(self, name: str) -> Any:
        return self.data.get("Parameters", {}).get(name, {}).get("Default")


_SUB = re.compile(r"\$\{([^}]+)\}")


@dataclass
class Resolver:
    """Resolves intrinsics against local physical names (`refs`) and attributes (`attrs`)."""

    refs: dict[str, Any]
    attrs: dict[tuple[str, str], Any]
    pseudo: dict[str, str] = field(default_factory=dict)
    fallback: Callable[[str], Any] | None = None

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.refs:
            return self.refs[name]
        if self.fallback is not None:
            return self.fallback(name)
        raise KeyError(f"no local value for !Ref {name}")

    def get_att(self, name: str, attr: str) -> Any:
        try:
            return self.attrs[(name, attr)]
        except KeyError:
            raise KeyError(f"no local value for !GetAtt {name}.{attr}") from None

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.get_att(*arg)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                return str(arg[0]).join(str(self.resolve(v)) for v in arg[1])
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return str(self.resolve(extra[name]))
            if "." in name and not name.startswith("AWS::"):
                res, attr = name.split(".", 1)
                return str(self.get_att(res, attr))
            return str(self.ref(name))

        return _SUB.sub(one, text)
