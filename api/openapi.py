"""Make the generated OpenAPI document say what the API really returns.

Every error response (4xx/5xx) is ``application/problem+json`` with the
``Problem`` schema; FastAPI's default validation-error schemas are replaced, and
each operation documents 500 and, when it takes input, 422.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.errors import PROBLEM_MEDIA_TYPE

_PROBLEM_CONTENT = {
    PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
}
_HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def _fix_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
    if takes_input:
        responses.setdefault("422", {"description": "Unprocessable Entity"})
    responses.setdefault("500", {"description": "Internal Server Error"})
    for status, response in responses.items():
        if status[0] in "45":
            response["content"] = dict(_PROBLEM_CONTENT)


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with a cached, problem+json-faithful generator."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for path_item in schema.get("paths", {}).values():
            for method, operation in path_item.items():
                if method in _HTTP_METHODS:
                    _fix_operation(operation)
        components = schema.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
