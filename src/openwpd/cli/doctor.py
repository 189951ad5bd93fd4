"""``wpd doctor`` (why a device may not open, every check in one go) and ``wpd udev-rules``
(rules that let a user open MTP/PTP devices without root). The checks and the rules text live
in :mod:`openwpd.client.doctor` and :mod:`openwpd.transport.udev`; this module only prints."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import click

from openwpd.cli._core import (
    ENV_DEVICE,
    CliError,
    ExitCode,
    common_options,
    json_option,
    known_devices,
    settings,
)
from openwpd.cli._output import emit_json, say
from openwpd.client.doctor import Status, run_checks
from openwpd.protocol.errors import OpenWpdError
from openwpd.transport.udev import RULES_PATH, install_rules, udev_rules
from openwpd.transport.usb import survey_usb_devices


def unlisted_usb_devices(listed: list[str]) -> list[dict[str, Any]]:
    """``wpd devices`` entries for USB devices that may be MTP devices but could not be listed
    by URL (a phone whose vendor-specific MTP interface cannot be told without opening it, and
    we may not open it), each with the reason. Never raises: no libusb just means none."""
    try:
        statuses = survey_usb_devices()
    except OpenWpdError:
        return []
    return [
        {"url": s.url, "reachable": False, "error": s.problem or "cannot be opened"}
        for s in statuses
        if s.candidate and s.url not in listed and s.problem is not None
    ]


@click.command()
@json_option
@common_options
def doctor(as_json: bool) -> None:
    """Check everything a device needs: libusb, USB devices and their permissions, udev rules,
    programs holding devices, FUSE for `wpd mount`, configured PTP/IP devices. One line per
    check (OK, WARN or FAIL, with a hint); exits 1 when a check fails."""
    urls = known_devices()
    extra = settings().device or os.environ.get(ENV_DEVICE, "").strip()
    if extra and extra not in urls:
        urls.insert(0, extra)
    checks = run_checks(urls)
    if as_json:
        emit_json([dataclasses.asdict(c) | {"status": c.status.value} for c in checks])
    else:
        for c in checks:
            line = f"{c.status.value:<4}  {c.name}: {c.detail}"
            say(f"{line}  ({c.hint})" if c.hint and c.status is not Status.OK else line)
    failed = sum(c.status is Status.FAIL for c in checks)
    if failed:
        raise CliError(f"{failed} check(s) failed", ExitCode.FAILED)


@click.command("udev-rules")
@click.option("--mode", default="0660", show_default=True, help="Permission bits of the node.")
@click.option("--group", default=None, help='Also set GROUP (e.g. "plugdev").')
@click.option(
    "--install",
    is_flag=True,
    help=f"Write the rules to {RULES_PATH} (needs root) instead of printing them.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --install: write here instead.",
)
def udev_rules_command(mode: str, group: str | None, install: bool, output: Path | None) -> None:
    """Print udev rules that let the user at the seat open MTP/PTP devices (phones, cameras)
    without root: by interface class 6/1/1, and for phone vendors that hide MTP behind a
    vendor-specific interface. `--install` writes them; then run `udevadm control --reload`
    and replug the device."""
    try:
        text = udev_rules(mode=mode, group=group)
    except ValueError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None
    if not install:
        click.echo(text, nl=False)
        return
    path = output or RULES_PATH
    try:
        install_rules(text, path)
    except PermissionError:
        raise CliError(
            f"no permission to write {path}",
            ExitCode.LOCAL,
            hint="run it with sudo: `sudo wpd udev-rules --install`",
        ) from None
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc}", ExitCode.LOCAL) from None
    say(f"wrote {path}; now run: sudo udevadm control --reload && sudo udevadm trigger")


COMMANDS = (doctor, udev_rules_command)
