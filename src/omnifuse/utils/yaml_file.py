"""Read a user's YAML file that must hold a mapping (configs, search spaces)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from omnifuse.errors import ConfigError


def read_yaml_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """The mapping in ``path`` (empty for an empty file); an unreadable file, invalid YAML or
    a non-mapping is one :class:`ConfigError` naming the file and ``what`` it should hold."""
    p = Path(path)
    try:
        loaded = yaml.safe_load(p.read_text())
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read {what} ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{p}: {what} must be a mapping of keys to values")
    return loaded
