"""Example drop-in plugin: a greeting route, its own validated setting, and a start-up hook.

Stowage loads every ``*.py`` in ``plugins.dir`` (default ``./plugins.d``) at start-up and registers
it as ``plugins.d/<file stem>`` — this one as ``plugins.d/example_greeting``. Disable it with::

    plugins:
      disabled: [example_greeting]

Its own settings live under ``plugins.example_greeting`` and are checked before anything opens::

    plugins:
      example_greeting:
        greeting: "Hello from Stowage"

Try it: ``curl http://127.0.0.1:8080/example/greeting``.
"""

from __future__ import annotations

import logging
from typing import Any

from dynaconf import Validator
from quart import Blueprint, jsonify

from stowage.core.web.request_context import current_runtime
from stowage.hooks import hookimpl

__version__ = "1.0"

log = logging.getLogger("stowage.plugins.example_greeting")
blueprint = Blueprint("example_greeting", __name__)


@blueprint.get("/example/greeting")
async def greeting() -> Any:
    runtime = current_runtime()
    section = runtime.settings.plugins.section("example_greeting")
    return jsonify({"greeting": section.get("greeting", "Hello from Stowage")})


@hookimpl
def stowage_settings_validators() -> list[Validator]:
    # Only strings up to 200 characters; a wrong value stops start-up naming the key.
    return [Validator("plugins.example_greeting.greeting", is_type_of=str, len_max=200, default="Hello")]


@hookimpl
def stowage_blueprints(runtime: Any) -> Blueprint:
    return blueprint


@hookimpl
def stowage_startup(runtime: Any) -> None:
    runtime.services["example_greeting.started"] = True
    log.info("example greeting plugin started")
