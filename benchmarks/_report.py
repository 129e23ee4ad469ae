"""What every results table states, and how RESULTS.md is written section by section.

Each section of ``RESULTS.md`` (micro-benchmarks, end to end, start-up, memory)
is produced by its own script and carries its own machine line, so a section
can be regenerated alone (``run.py --sections e2e --write``) without leaving
the others describing a machine or versions they were not measured on.
"""

from __future__ import annotations

import os
import platform
import re
import time
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
LIBRARIES = ("bearerguard", "cryptography", "PyJWT", "joserfc", "Authlib")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions(names: tuple[str, ...] = LIBRARIES) -> str:
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def load() -> str:
    """The 1-minute load average against the core count: other work on the machine shows here."""
    try:
        one, _, _ = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.1f} on {os.cpu_count()} cores"


def machine(extra: tuple[str, ...] = ()) -> str:
    """``Machine: <cpu>, <n> cores; Python x.y.z; <library versions>``."""
    return (
        f"Machine: {cpu_model()}, {os.cpu_count()} cores; {platform.system()}; "
        f"Python {platform.python_version()}; {versions(LIBRARIES + extra)}."
    )


def stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


_SECTION = re.compile(r"<!-- section: (\w+) -->\n.*?<!-- end: \1 -->\n", re.S)
ORDER = ("intro", "micro", "e2e", "startup", "memory", "others")


def write_sections(sections: dict[str, list[str]], path: Path = RESULTS) -> None:
    """Replace the named sections of *path*, keep the others, in :data:`ORDER`."""
    kept: dict[str, str] = {}
    if path.exists():
        for match in _SECTION.finditer(path.read_text()):
            kept[match[1]] = match[0]
    for name, lines in sections.items():
        body = "\n".join(lines).rstrip("\n")
        kept[name] = f"<!-- section: {name} -->\n{body}\n<!-- end: {name} -->\n"
    path.write_text("\n".join(kept[name] for name in ORDER if name in kept))
