"""Which moto releases the rehearsal runs under, checked before moto's server starts.

The rehearsal's verdicts are only as good as moto's IAM and API behaviour, and some releases get
them wrong in ways that fail every run, so a release known to be unusable is refused by name
instead of failing later with an AccessDenied or an HTTP 500 that points nowhere.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .extra import INSTALL_HINT

# Tested: the lock (requirements/dev.txt) pins the newest of these.
SUPPORTED = ">=5.2.0,<5.3"
# moto 5.1.x answers HTTP 500 on CreateStateMachineAlias (the stack's `live` alias).
_TOO_OLD = (5, 2, 0)
_TOO_NEW = (5, 3, 0)


class UnsupportedMoto(RuntimeError):
    """The installed moto cannot rehearse; the message names the version and what to install."""


def _parse(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def check(installed: str | None = None) -> str:
    """The installed moto version, or UnsupportedMoto saying which versions are supported."""
    if installed is None:
        try:
            installed = version("moto")
        except PackageNotFoundError as exn:
            raise UnsupportedMoto(f"the rehearsal needs moto: {INSTALL_HINT}") from exn
    found = _parse(installed)
    if found < _TOO_OLD:
        why = "it answers HTTP 500 on CreateStateMachineAlias"
    elif found >= _TOO_NEW:
        why = "it is newer than any release the rehearsal was tested with"
    else:
        return installed
    raise UnsupportedMoto(
        f"moto {installed} is not supported by the rehearsal ({why}); "
        f"supported: moto{SUPPORTED} (pip install 'moto{SUPPORTED}', or `make env`)"
    )
