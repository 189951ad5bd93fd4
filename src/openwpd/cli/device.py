"""Device commands: ``devices``, ``info``, ``storages``, ``props``, ``watch``, ``raw``."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import datetime
from enum import IntEnum
from pathlib import Path
from typing import Any

import click

from openwpd.cli._core import (
    ENV_DEVICE,
    ENV_DEVICES,
    CliError,
    ExitCode,
    choose_device,
    common_options,
    json_option,
    known_devices,
    response_words,
    run_command,
    settings,
    with_device,
)
from openwpd.cli._output import (
    emit_json,
    emit_json_line,
    format_name,
    human_size,
    say,
    storage_dict,
)
from openwpd.cli._remote import expand_one, normalize
from openwpd.client import DeviceEvent, Entry, Handle, open_connection
from openwpd.protocol.codes import (
    OBJECT_PROP_TYPES,
    AssociationType,
    DataType,
    DevicePropCode,
    EventCode,
    ObjectFormatCode,
    ObjectPropCode,
    OperationCode,
    ProtectionStatus,
    ResponseCode,
    describe,
)
from openwpd.protocol.datasets import DateTimeForm
from openwpd.protocol.datatypes import Value, format_datetime, parse_datetime
from openwpd.protocol.errors import OpenWpdError, RemoteProtocolError, ResponseError

PROBE_TIMEOUT = 3.0


def _name_of(enum_type: type[Any], code: int) -> str:
    try:
        return str(enum_type(code).name)
    except ValueError:
        return f"0x{code:04X}"


def _parse_code(text: str, enum_type: type[IntEnum], what: str) -> int:
    """``0x1001``, ``4097``, ``GET_DEVICE_INFO``, ``GetDeviceInfo`` or ``get-device-info``."""
    with contextlib.suppress(ValueError):
        return int(text, 0)
    wanted = text.replace("_", "").replace("-", "").lower()
    for member in enum_type:
        if member.name.replace("_", "").lower() == wanted:
            return int(member)
    raise CliError(
        f"unknown {what} {text!r}",
        ExitCode.USAGE,
        hint="`wpd props keys` lists them"
        if enum_type is ObjectPropCode
        else f"give its number, e.g. 0x{next(iter(enum_type)):04X}",
    )


# --- devices, info, storages ----------------------------------------------------------------------


async def _probe(url: str) -> dict[str, Any]:
    result: dict[str, Any] = {"url": url}
    try:
        async with (
            asyncio.timeout(PROBE_TIMEOUT),
            open_connection(url, client_name="wpd", connect_timeout=PROBE_TIMEOUT) as conn,
        ):
            info = conn.device_info
            handle = conn.open_handle()
            name = None
            if DevicePropCode.DEVICE_FRIENDLY_NAME in info.device_properties_supported:
                with contextlib.suppress(OpenWpdError):
                    value = await handle.get_device_property(DevicePropCode.DEVICE_FRIENDLY_NAME)
                    name = value if isinstance(value, str) else None
            result |= {
                "reachable": True,
                "friendly_name": name,
                "manufacturer": info.manufacturer,
                "model": info.model,
                "serial_number": info.serial_number,
            }
    except (OpenWpdError, OSError, TimeoutError) as exc:
        result |= {"reachable": False, "error": str(exc) or type(exc).__name__}
    return result


@click.command()
@click.option(
    "--browse",
    "browse_seconds",
    type=click.FloatRange(min=0),
    default=None,
    metavar="S",
    help="Browse S seconds for PTP/IP devices announced by DNS-SD (0: not at all; default "
    "${OPENWPD_BROWSE_SECONDS}, else 1).",
)
@json_option
@common_options
def devices(browse_seconds: float | None, as_json: bool) -> None:
    """List the devices known (${OPENWPD_DEVICES}, plus -d / ${OPENWPD_DEVICE}, plus USB MTP/PTP
    devices, plus PTP/IP devices announced on the network by DNS-SD, e.g. by `wpd serve`) and
    probe them; a device that cannot be opened says why (`wpd doctor` says more)."""
    import os

    urls = known_devices(browse_seconds)
    extra = settings().device or os.environ.get(ENV_DEVICE, "").strip()
    if extra and extra not in urls:
        urls.insert(0, extra)

    async def probe_all() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(_probe(u) for u in urls)))

    found = run_command("devices", probe_all()) if urls else []
    from openwpd.cli.doctor import unlisted_usb_devices

    found += unlisted_usb_devices(urls)
    if as_json:
        emit_json(found)
        return
    if not found:
        click.echo(
            f"wpd: no devices known (set {ENV_DEVICES}=ptpip://HOST:PORT,... or {ENV_DEVICE})",
            err=True,
        )
        return
    for item in found:
        if item["reachable"]:
            label = item["friendly_name"] or item["model"]
            say(
                f"{item['url']}  {label}  ({item['manufacturer']} {item['model']}, "
                f"serial {item['serial_number']})"
            )
        else:
            say(f"{item['url']}  unreachable: {item['error']}")


@click.command()
@json_option
@common_options
def info(as_json: bool) -> None:
    """What the device is and what it can do (DeviceInfo, friendly name, battery)."""

    async def body(h: Handle) -> dict[str, Any]:
        dev = h.connection.device_info
        data: dict[str, Any] = {
            "url": h.connection.name,
            "manufacturer": dev.manufacturer,
            "model": dev.model,
            "device_version": dev.device_version,
            "serial_number": dev.serial_number,
            "vendor_extensions": dev.vendor_extension_desc,
            "operations": [_name_of(OperationCode, c) for c in dev.operations_supported],
            "events": [_name_of(EventCode, c) for c in dev.events_supported],
            "device_properties": [
                _name_of(DevicePropCode, c) for c in dev.device_properties_supported
            ],
            "playback_formats": len(dev.playback_formats),
            "capture_formats": len(dev.capture_formats),
        }
        for key, code in (
            ("friendly_name", DevicePropCode.DEVICE_FRIENDLY_NAME),
            ("battery_level", DevicePropCode.BATTERY_LEVEL),
        ):
            if code in dev.device_properties_supported:
                with contextlib.suppress(OpenWpdError):
                    data[key] = await h.get_device_property(code)
        data["storages"] = [storage_dict(s) for s in await h.storages()]
        return data

    data = with_device("info", body)
    if as_json:
        emit_json(data)
        return
    rows = [
        ("Device", data.get("friendly_name") or data["model"]),
        ("URL", data["url"]),
        ("Manufacturer", data["manufacturer"]),
        ("Model", data["model"]),
        ("Version", data["device_version"]),
        ("Serial", data["serial_number"]),
        ("Extensions", data["vendor_extensions"]),
    ]
    if "battery_level" in data:
        rows.append(("Battery", f"{data['battery_level']}%"))
    rows += [
        ("Operations", f"{len(data['operations'])}: " + ", ".join(data["operations"])),
        ("Events", f"{len(data['events'])}: " + ", ".join(data["events"])),
        ("Formats", f"{data['playback_formats']} playback, {data['capture_formats']} capture"),
    ]
    for storage in data["storages"]:
        rows.append(
            (
                "Storage",
                f"{storage['description']}: {human_size(storage['free'])} free of "
                f"{human_size(storage['capacity'])}" + (" (read-only)" * storage["read_only"]),
            )
        )
    for key, value in rows:
        say(f"{key + ':':<14}{value}")


@click.command()
@json_option
@common_options
def storages(as_json: bool) -> None:
    """The device's storages: name, type, free space, capacity."""

    data = with_device("storages", lambda h: h.storages())
    if as_json:
        emit_json([storage_dict(s) for s in data])
        return
    for storage in data:
        d = storage_dict(storage)
        ro = "  read-only" if storage.read_only else ""
        say(
            f"{storage.path:<24} {d['type']:<14} {human_size(storage.free):>10} free of "
            f"{human_size(storage.capacity):>10}{ro}"
        )


# --- properties -----------------------------------------------------------------------------------


_P = ObjectPropCode
#: Properties whose values are enumerations: shown by name, as ``ls --json`` and ``stat`` show
#: the format.
_ENUMS: dict[int, type[IntEnum]] = {
    _P.OBJECT_FORMAT: ObjectFormatCode,
    _P.PROTECTION_STATUS: ProtectionStatus,
    _P.ASSOCIATION_TYPE: AssociationType,
}
#: Properties that hold object or storage IDs: 0x%08X in text, numbers in JSON (as ``stat``).
_IDS = frozenset({_P.STORAGE_ID, _P.PARENT_OBJECT})
#: Properties that hold MTP DateTime strings (also recognized by a DateTime form).
_DATES = frozenset(
    {
        _P.DATE_CREATED,
        _P.DATE_MODIFIED,
        _P.DATE_AUTHORED,
        _P.DATE_ADDED,
        _P.ORIGINAL_RELEASE_DATE,
        _P.BIRTHDATE,
        _P.MESSAGE_RECEIVED_TIME,
        _P.ACTIVITY_BEGIN_TIME,
        _P.ACTIVITY_END_TIME,
        _P.LAST_BUILD_DATE,
    }
)


def _key_name(code: int) -> str:
    """``DATE_MODIFIED`` for 0xDC09, as ``info`` names codes (any spelling is accepted:
    DateModified, date-modified, 0xDC09)."""
    return _name_of(ObjectPropCode, code)


def _show_value(code: int, value: Value, as_json: bool) -> object:
    """A property value the way ``ls --json`` and ``stat`` show the same thing: the format
    (and other enumerations) by name, IDs in hex (numbers in JSON), the PUID as 32 hex digits,
    dates in ISO 8601."""
    if isinstance(value, int) and not isinstance(value, bool):
        if code in _ENUMS:
            return format_name(value) if code == _P.OBJECT_FORMAT else _name_of(_ENUMS[code], value)
        if code in _IDS:
            return value if as_json else f"0x{value:08X}"
        if code == _P.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER:
            return f"{value:032x}"
    if isinstance(value, str) and code in _DATES and value:
        with contextlib.suppress(RemoteProtocolError):
            when = parse_datetime(value)
            return value if when is None else when.isoformat()
    if as_json:
        return list(value) if isinstance(value, tuple) else value
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, int) and not isinstance(value, bool) and value > 0xFFFF_FFFF:
        return f"0x{value:X}"
    return str(value)


async def _prop_type(h: Handle, entry: Entry, code: int) -> tuple[int, bool]:
    """(data type, whether it holds a date) of property ``code`` for ``entry``."""
    with contextlib.suppress(ResponseError):
        desc = await h.property_desc(code, entry.format)
        return desc.datatype, code in _DATES or isinstance(desc.form, DateTimeForm)
    try:
        return int(OBJECT_PROP_TYPES[ObjectPropCode(code)]), code in _DATES
    except (KeyError, ValueError):
        raise CliError(f"the type of property 0x{code:04X} is unknown", ExitCode.FAILED) from None


def _parse_date(text: str) -> str:
    """An MTP DateTime string (``YYYYMMDDThhmmss[.s][Z|+hhmm]``) from ISO 8601
    (``2024-06-01T12:00:00``, ``2024-06-01 12:00+02:00``, ``2024-06-01``) or from one already
    in that form. A time without a zone is the device's local time, as MTP has it."""
    with contextlib.suppress(RemoteProtocolError):
        parse_datetime(text)
        return text
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(
            f"{text!r} is not a date",
            ExitCode.USAGE,
            hint="give ISO 8601, e.g. 2024-06-01T12:00:00 or 2024-06-01T12:00:00Z",
        ) from None
    return format_datetime(when, tenths=bool(when.microsecond))


def _parse_value(text: str, datatype: int, is_date: bool = False) -> Value:
    if datatype == DataType.STR:
        return _parse_date(text) if is_date else text
    try:
        return int(text, 0)
    except ValueError:
        raise CliError(
            f"{text!r} is not a number ({_name_of(DataType, datatype)})", ExitCode.USAGE
        ) from None


@click.group()
def props() -> None:
    """Read or change the properties of a file or folder (`wpd props keys` lists the names)."""


@props.command("keys")
@click.argument("path", required=False)
@json_option
@common_options
def props_keys(path: str | None, as_json: bool) -> None:
    """The property names `props get` and `props set` accept (any spelling: DateModified,
    DATE_MODIFIED, date-modified, 0xDC09). With PATH: those the device has for that object,
    with their types and whether they can be set."""
    rows: list[dict[str, Any]]
    if path is None:
        rows = [
            {
                "name": _key_name(code),
                "code": f"0x{int(code):04X}",
                "type": _name_of(DataType, OBJECT_PROP_TYPES[code])
                if code in OBJECT_PROP_TYPES
                else None,
                "date": code in _DATES,
            }
            for code in sorted(ObjectPropCode)
        ]
    else:
        target = normalize(path)

        async def body(h: Handle) -> list[dict[str, Any]]:
            entry = await expand_one(h, target)
            if not isinstance(entry, Entry):
                raise CliError(f"{target} is a storage", ExitCode.USAGE)
            found = []
            for code in await h.properties_supported(entry.format):
                row: dict[str, Any] = {"name": _key_name(code), "code": f"0x{code:04X}"}
                try:
                    desc = await h.property_desc(code, entry.format)
                except ResponseError:
                    row |= {"type": None, "date": code in _DATES, "settable": None}
                else:
                    row |= {
                        "type": _name_of(DataType, desc.datatype),
                        "date": code in _DATES or isinstance(desc.form, DateTimeForm),
                        "settable": bool(desc.getset),
                    }
                found.append(row)
            return found

        rows = with_device(f"props keys {target}", body)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        extra = []
        if row.get("date"):
            extra.append("date (ISO 8601 accepted)")
        if row.get("settable") is not None:
            extra.append("settable" if row["settable"] else "read-only")
        kind = row["type"] or "-"
        click.echo(f"{row['name']:<36} {row['code']}  {kind:<8} {', '.join(extra)}".rstrip())


@props.command("get")
@click.argument("path")
@click.argument("key", required=False)
@json_option
@common_options
def props_get(path: str, key: str | None, as_json: bool) -> None:
    """Every property of PATH, or the one named KEY (DateModified, 0xDC09...; `wpd props keys`
    lists them). Formats and other enumerations show by name, IDs in hex, dates in ISO 8601,
    as `ls --json` and `stat` show them."""
    path = normalize(path)
    code = None if key is None else _parse_code(key, ObjectPropCode, "property")

    async def body(h: Handle) -> dict[int, Value]:
        entry = await expand_one(h, path)
        if not isinstance(entry, Entry):
            raise CliError(f"{path} is a storage (see `wpd stat {path}`)", ExitCode.USAGE)
        if code is not None:
            return {code: await h.get_property(entry, code)}
        return await h.get_properties(entry)

    values = with_device(f"props get {path}", body)
    if as_json:
        emit_json({_key_name(c): _show_value(c, v, True) for c, v in sorted(values.items())})
        return
    if code is not None:
        say(str(_show_value(code, values[code], False)))
        return
    for c, v in sorted(values.items()):
        say(f"{_key_name(c):<36} {_show_value(c, v, False)}")


@props.command("set")
@click.argument("path")
@click.argument("key")
@click.argument("value")
@common_options
def props_set(path: str, key: str, value: str) -> None:
    """Set property KEY of PATH to VALUE: a number or text, as the property's type wants;
    dates in ISO 8601 (2024-06-01T12:00:00, with Z or +02:00 for a zone) or MTP's form."""
    path = normalize(path)
    code = _parse_code(key, ObjectPropCode, "property")

    async def body(h: Handle) -> None:
        entry = await expand_one(h, path)
        if not isinstance(entry, Entry):
            raise CliError(f"{path} is a storage", ExitCode.USAGE)
        datatype, is_date = await _prop_type(h, entry, code)
        await h.set_property(entry, code, _parse_value(value, datatype, is_date))

    with_device(f"props set {path} {key}", body)


# --- events ---------------------------------------------------------------------------------------

_OBJECT_EVENTS = (EventCode.OBJECT_ADDED, EventCode.OBJECT_INFO_CHANGED)
#: events naming a storage that is there to be named (a removed one no longer is)
_STORAGE_EVENTS = (EventCode.STORE_ADDED, EventCode.STORAGE_INFO_CHANGED)


@click.command()
@click.option("-n", "--count", type=int, default=None, help="Stop after this many events.")
@click.option("-t", "--timeout", type=float, default=None, help="Stop after this many seconds.")
@json_option
@common_options
def watch(count: int | None, timeout: float | None, as_json: bool) -> None:
    """Print the device's events as they happen (Ctrl-C stops)."""

    async def body(h: Handle) -> int:
        seen = 0
        stream = h.events()
        if not as_json:
            say(f"watching {h.connection.name} (Ctrl-C stops)", err=True)
        async with stream:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    async for event in stream:
                        await _show_event(h, event, as_json)
                        seen += 1
                        if count is not None and seen >= count:
                            break
        return seen

    with_device("watch", body)


async def _show_event(h: Handle, event: DeviceEvent, as_json: bool) -> None:
    name = _name_of(EventCode, event.code)
    what: str | None = None
    if event.code in _OBJECT_EVENTS and event.params:
        with contextlib.suppress(OpenWpdError):
            what = (await h.entry(event.params[0])).name
    elif event.code in _STORAGE_EVENTS and event.params:
        with contextlib.suppress(OpenWpdError):
            storages = {s.id: s.path for s in await h.storages()}
            what = storages.get(event.params[0])
    now = datetime.now()
    if as_json:
        emit_json_line(
            {
                "time": now.isoformat(timespec="milliseconds"),
                "event": name,
                "code": event.code,
                "params": list(event.params),
                "name": what,
            }
        )
        return
    params = " ".join(f"0x{p:08X}" for p in event.params)
    say(f"{now:%H:%M:%S.%f}"[:-3] + f"  {name:<22} {params}" + (f"  {what}" if what else ""))
    sys.stdout.flush()


# --- format ---------------------------------------------------------------------------------------


@click.command("format")
@click.argument("storage")
@click.option("--yes", is_flag=True, help="Really delete everything on STORAGE.")
@common_options
def format_storage(storage: str, yes: bool) -> None:
    """Format STORAGE (/NAME, as `wpd storages` lists it): everything on it is deleted.

    Without --yes nothing is done (exit 2). The device decides what formatting means; a
    `wpd serve` device formats only with --allow-format, and then empties the served folder.
    """
    path = normalize(storage)
    if path.count("/") != 1 or path == "/":
        raise CliError(
            f"{storage} is not a storage", ExitCode.USAGE, hint="`wpd storages` lists them"
        )
    if not yes:
        raise CliError(
            f"format {path} would delete everything on it; nothing done",
            ExitCode.USAGE,
            hint=f"wpd format {path} --yes",
        )

    async def body(h: Handle) -> None:
        try:
            await h.format(path)
        except ResponseError as exc:
            if exc.code != ResponseCode.OPERATION_NOT_SUPPORTED:
                raise
            raise CliError(
                f"format {path}: the device does not format storages",
                ExitCode.FAILED,
                hint="a `wpd serve` device formats only with --allow-format",
            ) from None

    with_device(f"format {path}", body)
    say(f"formatted {path}")


# --- raw ------------------------------------------------------------------------------------------


def _hexdump(data: bytes, limit: int) -> list[str]:
    lines = []
    for offset in range(0, min(len(data), limit), 16):
        chunk = data[offset : offset + 16]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {chunk.hex(' '):<48}  {text}")
    if len(data) > limit:
        lines.append(f"... {len(data) - limit} more bytes (--out FILE keeps them all)")
    return lines


@click.command()
@click.argument("opcode")
@click.argument("params", nargs=-1)
@click.option(
    "--data",
    "data_file",
    type=click.File("rb"),
    default=None,
    help="Send this file ('-': stdin) as the data phase.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="Write received data here."
)
@json_option
@common_options
def raw(
    opcode: str, params: tuple[str, ...], data_file: Any, out: Path | None, as_json: bool
) -> None:
    """Run one MTP operation as it is: wpd raw GetStorageIDs, wpd raw 0x1008 0x12.

    Prints the response code and parameters and the data the device sent (a hex dump). Exits 1
    when the response is not OK.
    """
    code = _parse_code(opcode, OperationCode, "operation")
    try:
        values = tuple(int(p, 0) & 0xFFFFFFFF for p in params)
    except ValueError:
        raise CliError("parameters are numbers (0x12, 18)", ExitCode.USAGE) from None
    if len(values) > 5:
        raise CliError("an operation has at most 5 parameters", ExitCode.USAGE)
    payload = None if data_file is None else data_file.read()

    result = with_device(f"raw {opcode}", lambda h: h.execute(code, values, data=payload))
    if out is not None:
        out.write_bytes(result.data)
    if as_json:
        emit_json(
            {
                "operation": describe(OperationCode, code),
                "code": result.code,
                "response": _name_of(ResponseCode, result.code),
                "params": list(result.params),
                "data": result.data.hex() if out is None else None,
                "data_length": len(result.data),
            }
        )
    else:
        click.echo(f"response: {response_words(result.code)}")
        if result.params:
            click.echo("params:   " + " ".join(f"0x{p:08X}" for p in result.params))
        if result.data:
            click.echo(f"data:     {len(result.data)} bytes" + (f" -> {out}" if out else ""))
            if out is None:
                for line in _hexdump(result.data, 4096):
                    click.echo(line)
    if result.code != ResponseCode.OK:
        raise CliError(
            f"raw {opcode}: the device answered {response_words(result.code)}", ExitCode.FAILED
        )


COMMANDS = (devices, info, storages, props, watch, format_storage, raw)

__all__ = ["COMMANDS", "choose_device"]
