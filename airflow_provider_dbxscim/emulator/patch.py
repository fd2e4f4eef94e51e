"""
SCIM PatchOp parsing (RFC 7644 section 3.5.2), with the service's own reactions to wrong value types.

The result is a dict of attribute changes, computed in full before anything is applied, so a request with
one bad operation changes nothing.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_dbxscim.emulator.responses import (
    PATCH_OP_SCHEMA,
    USER_ATTRIBUTE_PREFIX,
    ApiFailure,
    scim_failure,
)

_PATCHABLE = {"active": "active", "displayname": "displayName", "externalid": "externalId"}
_OPERATIONS = ("add", "replace", "remove")
# Names of the JVM classes the service reports when a JSON value of the wrong type reaches a boolean field.
_JAVA_CLASSES = {
    str: "java.lang.String",
    int: "java.lang.Integer",
    float: "java.lang.Double",
    dict: "java.util.LinkedHashMap",
}


def parse_patch(body: Any) -> dict[str, Any]:
    """
    Turn a PatchOp body into attribute changes; ``None`` as a value means "remove".

    :param body: the decoded JSON body.
    :raises ApiFailure: 400 ``invalidSyntax`` for a body that is not a PatchOp, 400 for a bad operation, and
        500 with the service's Java cast message when ``active`` gets a bare string.
    """
    if not isinstance(body, dict) or not isinstance(body.get("Operations"), list):
        raise scim_failure(
            400, "Request body is not a PatchOp: an object with Operations is required", "invalidSyntax"
        )
    schemas = body.get("schemas")
    if schemas is not None and PATCH_OP_SCHEMA not in schemas:
        raise scim_failure(400, f"schemas must contain {PATCH_OP_SCHEMA}", "invalidSyntax")
    if not body["Operations"]:
        raise scim_failure(400, "Operations must not be empty", "invalidSyntax")
    changes: dict[str, Any] = {}
    for operation in body["Operations"]:
        changes.update(_parse_operation(operation))
    return changes


def _parse_operation(operation: Any) -> dict[str, Any]:
    if not isinstance(operation, dict) or not isinstance(operation.get("op"), str):
        raise scim_failure(400, "Each operation needs an op", "invalidSyntax")
    op = operation["op"].lower()
    if op not in _OPERATIONS:
        raise scim_failure(400, f"Unknown patch operation {operation['op']!r}", "invalidSyntax")
    path = operation.get("path")
    if op == "remove":
        if not path:
            raise scim_failure(400, "remove needs a path", "noTarget")
        attribute = _attribute(path)
        if attribute == "active":
            raise scim_failure(400, "active cannot be removed", "mutability")
        return {attribute: None}
    if operation.get("value") is None:
        raise scim_failure(400, f"{op} operation requires a value", "invalidValue")
    if path:
        return {_attribute(path): _value(_attribute(path), operation["value"])}
    if not isinstance(operation["value"], dict):
        raise scim_failure(400, f"{op} without a path needs an object value", "invalidValue")
    return {_attribute(name): _value(_attribute(name), value) for name, value in operation["value"].items()}


def _attribute(path: Any) -> str:
    if not isinstance(path, str):
        raise scim_failure(400, "path must be a string", "invalidPath")
    attribute = _PATCHABLE.get(path.lower().removeprefix(USER_ATTRIBUTE_PREFIX))
    if attribute is None:
        raise scim_failure(400, f"Unsupported patch path {path!r}", "invalidPath")
    return attribute


def _value(attribute: str, value: Any) -> Any:
    if attribute != "active":
        if not isinstance(value, str):
            raise scim_failure(400, f"{attribute} takes a string", "invalidValue")
        return value
    return active_value(value)


def active_value(value: Any) -> bool:
    """
    Read a value for ``active`` the way the service does.

    A JSON boolean works; so does the multi-valued form ``[{"value": "true"}]`` (seen accepted by the
    service). Any other type reaches the service's Java code as-is and fails the boolean cast with a 500.

    :param value: the decoded JSON value.
    :raises ApiFailure: 500 with the cast message, or 400 for a malformed multi-valued form.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return _complex_active(value)
    raise cast_failure(value)


def cast_failure(value: Any) -> ApiFailure:
    """
    Build the 500 the service answers when a non-boolean reaches ``active``.

    :param value: the offending value.
    """
    java = _JAVA_CLASSES.get(type(value), "java.lang.Object")
    detail = (
        f"class {java} cannot be cast to class java.lang.Boolean ({java} and java.lang.Boolean are in "
        "module java.base of loader 'bootstrap')"
    )
    return scim_failure(500, detail)


def _complex_active(value: list[Any]) -> bool:
    if len(value) != 1 or not isinstance(value[0], dict) or "value" not in value[0]:
        raise scim_failure(400, 'active as a list must be [{"value": true}]', "invalidValue")
    inner = value[0]["value"]
    if isinstance(inner, bool):
        return inner
    if isinstance(inner, str) and inner.lower() in ("true", "false"):
        return inner.lower() == "true"
    raise scim_failure(400, f"Cannot read {inner!r} as a boolean", "invalidValue")
