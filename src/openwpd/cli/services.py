"""Device-service commands: ``wpd services`` (what each service declares, with its property
values) and ``wpd invoke SERVICE METHOD [NAME=VALUE...]`` (run a method, print its results).

They run on the client's service support (:mod:`openwpd.client.services`); services are named
by their name (``Contacts``, case-insensitive) or ServiceID, methods and parameters by name.
"""

from __future__ import annotations

import contextlib
from typing import Any

import click

from openwpd.cli._core import CliError, ExitCode, common_options, doing, json_option, with_device
from openwpd.cli._output import emit_json, say
from openwpd.cli._remote import lookup
from openwpd.client import Entry, Handle
from openwpd.client import services as svc
from openwpd.protocol.codes import DataType
from openwpd.protocol.datatypes import Value
from openwpd.protocol.errors import OpenWpdError


def _show(value: Value) -> Any:
    if isinstance(value, tuple):
        return [_show(v) for v in value]
    return value


def _describe(desc: svc.ServiceDescription, values: dict[int, Value]) -> dict[str, Any]:
    info = desc.info
    return {
        "id": info.service_id,
        "name": info.name,
        "guid": str(info.guid),
        "storage_id": info.storage_id,
        "properties": {
            p.name: _show(values[p.code]) if p.code in values else None for p in info.properties
        },
        "methods": {
            m.name: [
                {"name": p.name, "in": p.is_input, "out": p.is_output} for p in desc.params(m.code)
            ]
            for m in info.methods
        },
        "formats": [f.name for f in info.formats],
        "events": [e.name for e in info.events],
    }


@click.command()
@json_option
@common_options
def services(as_json: bool) -> None:
    """The device's services: properties (with values), methods, formats, events."""

    async def body(h: Handle) -> list[dict[str, Any]]:
        found = []
        for desc in await svc.services(h):
            values: dict[int, Value] = {}
            if desc.info.properties:
                with contextlib.suppress(OpenWpdError):
                    values = await svc.get_service_props(h, desc.service_id)
            found.append(_describe(desc, values))
        return found

    data = with_device("services", body)
    if as_json:
        emit_json(data)
        return
    for item in data:
        say(f"{item['name']} (0x{item['id']:08X}, {item['guid']})")
        for name, value in item["properties"].items():
            say(f"  property {name} = {value}")
        for name, params in item["methods"].items():
            ins = ", ".join(p["name"] for p in params if p["in"])
            outs = ", ".join(p["name"] for p in params if p["out"])
            say(f"  method   {name}({ins})" + (f" -> {outs}" if outs else ""))
        if item["formats"]:
            say(f"  formats  {', '.join(item['formats'])}")
        if item["events"]:
            say(f"  events   {', '.join(item['events'])}")


def _find_service(found: list[svc.ServiceDescription], wanted: str) -> svc.ServiceDescription:
    with contextlib.suppress(ValueError):
        number = int(wanted, 0)
        for desc in found:
            if desc.service_id == number:
                return desc
    for desc in found:
        if desc.info.name.lower() == wanted.lower():
            return desc
    names = ", ".join(d.info.name for d in found)
    raise CliError(f"no service {wanted!r} (the device has: {names})", ExitCode.NOT_FOUND)


def _parse_arg(param: svc.MethodParam, text: str) -> Value:
    if param.datatype == DataType.STR:
        return text
    try:
        return int(text, 0)
    except ValueError:
        raise CliError(f"{param.name} wants a number, not {text!r}", ExitCode.USAGE) from None


@click.command()
@click.argument("service")
@click.argument("method")
@click.argument("args", nargs=-1, metavar="[NAME=VALUE]...")
@json_option
@common_options
def invoke(service: str, method: str, args: tuple[str, ...], as_json: bool) -> None:
    """Invoke a service method and print its results: wpd invoke Diagnostics Echo Text=hi.

    A number or text per parameter, as the parameter's type wants; an object parameter may be
    given as a device path (Object=/Phone/a.jpg)."""
    pairs: dict[str, str] = {}
    for arg in args:
        name, sep, value = arg.partition("=")
        if not sep:
            raise CliError(f"{arg!r} is not NAME=VALUE", ExitCode.USAGE)
        pairs[name.lower()] = value

    async def body(h: Handle) -> dict[str, Any]:
        desc = _find_service(await svc.services(h), service)
        chosen = next((m for m in desc.info.methods if m.name.lower() == method.lower()), None)
        if chosen is None:
            names = ", ".join(m.name for m in desc.info.methods) or "none"
            raise CliError(
                f"service {desc.info.name} has no method {method!r} (it has: {names})",
                ExitCode.NOT_FOUND,
            )
        params = desc.params(chosen.code)
        values: dict[int, Value] = {}
        for param in params:
            if param.is_input and param.name.lower() in pairs:
                text = pairs.pop(param.name.lower())
                if text.startswith("/") and param.datatype != DataType.STR:
                    # an object parameter given as a device path
                    node = await lookup(h, text)
                    values[param.code] = node.handle if isinstance(node, Entry) else node.id
                else:
                    values[param.code] = _parse_arg(param, text)
        if pairs:
            raise CliError(
                f"{chosen.name} has no parameter {', '.join(pairs)} (it takes: "
                + ", ".join(p.name for p in params if p.is_input)
                + ")",
                ExitCode.USAGE,
            )
        handle = await svc.open_service(h.connection, desc.service_id)
        try:
            doing(f"method {desc.info.name}.{chosen.name}")
            results = await handle.invoke(chosen.code, values)
        finally:
            await handle.aclose()
        named = {p.code: p.name for p in params}
        return {named.get(code, f"0x{code:04X}"): _show(v) for code, v in results.items()}

    results = with_device(f"invoke {service} {method}", body)
    if as_json:
        emit_json(results)
        return
    for name, value in results.items():
        say(f"{name} = {value}")


COMMANDS = (services, invoke)

__all__ = ["COMMANDS"]
