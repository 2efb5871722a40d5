"""Built-in native fencers, registered through the ``hacore.fencers`` entry point like any
third-party distribution's. ``power-file``: a pretend power switch kept in files, one per
plug, for demos, tests and trying out fence methods without hardware."""

from __future__ import annotations

import os
from pathlib import Path

from hacore.agent.params import Param
from hacore.fencing.base import FenceFailure, Fencer
from hacore.fencing.hookspec import hookimpl
from hacore.fencing.protocol import PowerState


class PowerFile(Fencer):
    """Each plug's power state is the word ``on`` or ``off`` in ``STATE_DIR/PLUG``;
    a missing file reads as on (a machine is running until someone turns it off)."""

    name = "power-file"
    shortdesc = "Pretend power switch: one state file per plug (demos and tests)"
    longdesc = ("Keeps each plug's power state in a file named after the plug inside "
                "state_dir. off writes 'off', on writes 'on', status reads it back.")
    parameters = (
        Param("state_dir", "Directory holding one state file per plug", required=True),
        Param("plug", "The plug (outlet) the node is on; defaults to the node name"),
    )

    def _path(self) -> Path:
        plug = self.plug or self.nodename
        if not plug or "/" in plug or plug in (".", ".."):
            raise FenceFailure(f"plug {plug!r} is not a usable file name (give plug=NAME)")
        directory = Path(self.params["state_dir"])
        if not directory.is_dir():
            raise FenceFailure(f"state_dir {directory} is not a directory")
        return directory / plug

    def _write(self, state: str) -> None:
        path = self._path()
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", encoding="ascii") as handle:
            handle.write(state + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        if self.status() != state:
            raise FenceFailure(f"plug {path.name} did not turn {state}")

    def off(self) -> None:
        self._write("off")

    def on(self) -> None:
        self._write("on")

    def status(self) -> PowerState:
        path = self._path()
        try:
            word = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return "on"
        except (OSError, UnicodeDecodeError) as exc:
            raise FenceFailure(f"cannot read {path}: {exc}") from None
        if word not in ("on", "off"):
            raise FenceFailure(f"{path} holds {word!r}, not 'on' or 'off'")
        return "off" if word == "off" else "on"

    def monitor(self) -> None:
        if not Path(self.params["state_dir"]).is_dir():
            raise FenceFailure(f"state_dir {self.params['state_dir']} is not a directory")

    def list(self) -> list[str]:
        directory = Path(self.params["state_dir"])
        return sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))


@hookimpl
def hacore_register_fencers(register) -> None:
    """Register the built-in fencers."""
    register(PowerFile)
