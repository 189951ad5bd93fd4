"""Camera commands: ``capture`` and ``config list|get|set|reset`` (gphoto2's --list-config,
--get-config, --set-config, with readable names and values; see :mod:`openwpd.client.camera`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from openwpd.cli._core import (
    CliError,
    ExitCode,
    common_options,
    doing,
    json_option,
    with_device,
)
from openwpd.cli._output import emit_json, entry_dict, say
from openwpd.client import Entry, Handle
from openwpd.client.camera import DeviceProperty, parse_value, property_code
from openwpd.client.names import UnsafeName, local_path


@click.command()
@click.option("--count", default=1, show_default=True, type=click.IntRange(1), help="Captures.")
@click.option(
    "--interval",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds between two captures.",
)
@click.option(
    "--download",
    "download_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Copy each new picture into this folder (kept on the device too).",
)
@json_option
@common_options
def capture(count: int, interval: float, download_dir: Path | None, as_json: bool) -> None:
    """Take pictures (InitiateCapture) and print where each one is on the device.

    A burst or self-timer follows the camera's settings (`wpd config`). Ctrl-C cancels a
    pending capture on the device. A downloaded picture never overwrites a local file (exit 6).
    """
    if download_dir is not None:
        download_dir.mkdir(parents=True, exist_ok=True)

    async def body(h: Handle) -> list[dict[str, Any]]:
        taken: list[dict[str, Any]] = []
        for i in range(count):
            if i and interval:
                await asyncio.sleep(interval)
            doing("capture")
            for entry in await h.capture():
                item = entry_dict(entry)
                item["path"] = await _device_path(h, entry)
                if download_dir is not None:
                    item["downloaded"] = str(await _download(h, entry, download_dir))
                taken.append(item)
                if not as_json:
                    where = f"  -> {item['downloaded']}" if "downloaded" in item else ""
                    say(f"{item['path']}{where}")
        return taken

    result = with_device("capture", body)
    if as_json:
        emit_json(result)


async def _device_path(h: Handle, entry: Entry) -> str:
    """``/<storage>/folders/name`` of a new object (the device names only its handle)."""
    parts = [entry.name]
    parent = entry.parent
    while parent not in (0, 0xFFFFFFFF) and len(parts) < 64:
        folder = await h.entry(parent)
        parts.append(folder.name)
        parent = folder.parent
    storage = next((s for s in await h.storages() if s.id == entry.storage_id), None)
    root = storage.path if storage is not None else f"/0x{entry.storage_id:08X}"
    return "/".join([root, *reversed(parts)])


async def _download(h: Handle, entry: Entry, folder: Path) -> Path:
    try:
        dest = local_path(folder, entry.name)
    except UnsafeName as exc:
        raise CliError(f"unsafe name from device: {exc}", ExitCode.LOCAL) from None
    if dest.exists():
        raise CliError(f"{dest} exists: not overwritten", ExitCode.LOCAL)
    doing(f"download of {entry.name}")
    try:
        await h.download(entry, dest, replace=False)  # not even a file made meanwhile
    except FileExistsError:
        raise CliError(f"{dest} exists: not overwritten", ExitCode.LOCAL) from None
    return dest


# -- config ----------------------------------------------------------------------------------


def _prop_dict(prop: DeviceProperty) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": prop.name,
        "code": f"0x{prop.code:04X}",
        "writable": prop.writable,
        "current": prop.current,
        "current_label": prop.label(prop.current),
        "default": prop.default,
        "default_label": prop.label(prop.default),
        "form": prop.form,
    }
    if prop.form == "enum":
        data["choices"] = [{"value": v, "label": prop.label(v)} for v in prop.choices]
    if prop.range is not None:
        data["range"] = dict(zip(("min", "max", "step"), prop.range, strict=True))
    return data


async def _find(h: Handle, name: str) -> DeviceProperty:
    try:
        code = property_code(name)
    except ValueError as exc:
        raise CliError(str(exc), ExitCode.NOT_FOUND) from None
    for prop in await h.device_properties():
        if prop.code == code:
            return prop
    raise CliError(f"the device has no property {name!r}", ExitCode.NOT_FOUND)


def _show(prop: DeviceProperty) -> None:
    say(f"Name: {prop.name} (0x{prop.code:04X})")
    say(f"Readonly: {0 if prop.writable else 1}")
    say(f"Current: {prop.label(prop.current)}")
    say(f"Default: {prop.label(prop.default)}")
    if prop.form == "enum":
        for i, value in enumerate(prop.choices):
            say(f"Choice: {i} {prop.label(value)}")
    if prop.range is not None:
        lo, hi, step = prop.range
        say(f"Range: {prop.label(lo)} .. {prop.label(hi)} (step {step})")


@click.group()
def config() -> None:
    """The device's properties (camera settings): list, get, set, reset.

    NAME is gphoto2's name (f-number, iso, whitebalance, shutterspeed...), the spec name, or
    the hex code (0x5007). VALUE is a label as `config get` shows it (f/8, 1/250, Tungsten)
    or a raw number.
    """


@config.command("list")
@json_option
@common_options
def config_list(as_json: bool) -> None:
    """Every property: name, current value, and whether it can be set."""
    props = with_device("config list", lambda h: h.device_properties())
    if as_json:
        emit_json([_prop_dict(p) for p in props])
        return
    for prop in props:
        access = "" if prop.writable else "  (read-only)"
        say(f"{prop.name:<22} {prop.label(prop.current)}{access}")


@config.command("get")
@click.argument("name")
@json_option
@common_options
def config_get(name: str, as_json: bool) -> None:
    """One property with its allowed values and factory default."""
    prop = with_device(f"config get {name}", lambda h: _find(h, name))
    if as_json:
        emit_json(_prop_dict(prop))
    else:
        _show(prop)


@config.command("set")
@click.argument("name")
@click.argument("value")
@json_option
@common_options
def config_set(name: str, value: str, as_json: bool) -> None:
    """Set a property (refused locally when VALUE is not one it allows)."""

    async def body(h: Handle) -> DeviceProperty:
        prop = await _find(h, name)
        if not prop.writable:
            raise CliError(f"{prop.name} is read-only", ExitCode.FAILED)
        try:
            wanted = parse_value(prop, value)
        except ValueError as exc:
            raise CliError(str(exc), ExitCode.USAGE) from None
        await h.set_device_property(prop.code, wanted)
        return await _find(h, name)

    prop = with_device(f"config set {name}", body)
    if as_json:
        emit_json(_prop_dict(prop))
    else:
        say(f"{prop.name}: {prop.label(prop.current)}")


@config.command("reset")
@click.argument("name", required=False)
@click.option("--all", "every", is_flag=True, help="Reset every property.")
@common_options
def config_reset(name: str | None, every: bool) -> None:
    """Reset a property (or --all) to its factory default."""
    if (name is None) == (not every):
        raise CliError("give a NAME or --all (not both)", ExitCode.USAGE)

    async def body(h: Handle) -> None:
        if every:
            await h.reset_device_property(0xFFFFFFFF)
            return
        assert name is not None
        prop = await _find(h, name)
        await h.reset_device_property(prop.code)
        prop = await _find(h, name)
        say(f"{prop.name}: {prop.label(prop.current)}")

    with_device("config reset", body)


COMMANDS = (capture, config)

__all__ = ["COMMANDS"]
