"""The base classes of Rapport's errors.

Each error is defined beside the code that raises it (``RegistryError`` in
``accounts``, ``SourceError`` in ``sources``, ``LandingError`` in ``landing``...)
and derives from :class:`RapportError`, keeping its other bases (``ValueError``,
``RuntimeError``) for the callers that catch those. A caller that wants every
failure Rapport can explain (the ``rapport`` command) catches ``RapportError``
once; anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class RapportError(Exception):
    """A failure Rapport explains in its message (what, where, why): a run or a step that failed."""


class ConfigurationError(RapportError):
    """The user's configuration is at fault (a setting, the account registry), not the run.

    The message names the thing to fix: the variable, or the file, line and entry.
    """
