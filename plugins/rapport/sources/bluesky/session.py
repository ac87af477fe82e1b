"""One Bluesky sign-in per run, shared by every extraction task through a private state file.

A PDS allows 30 ``com.atproto.server.createSession`` per 5 minutes and 300 a
day per login account, and Airflow runs the extraction as separate task
processes: signing in once per account would break past about 30 accounts.
So the session (``accessJwt``, ``refreshJwt``, the DID, and the PDS and
identifier it belongs to) is kept in :func:`rapport.zones.session_state_file`,
outside every zone that is landed or published:

- the first extraction of a run signs in and writes the session; the others,
  in this process or another, read it and sign in no more;
- a read refused for an expired token (400 ``ExpiredToken``, or 401) renews
  it with ``com.atproto.server.refreshSession``; a new sign-in happens only
  when the refresh is refused or the identifier, the app password or the PDS
  changed (the session is filed under a fingerprint of the three, so changed
  credentials never reuse an old session);
- every read, renewal and write holds the file's lock
  (:func:`rapport.zones.file_lock`), so concurrent tasks do not all sign in
  at once: the first signs in, the others wait and read its session; a task
  whose token expired uses the session another task renewed meanwhile;
- the file is written atomically, mode 0600 in a 0700 folder; one that cannot
  be read is set aside (``session.json.damaged-<id>``) with a warning naming
  it, and a fresh sign-in follows.

The tokens are treated as opaque (the PDS may change their format): their
expiry is learnt from the PDS's answer, not read from them. They never reach
a page, a log line, an error message or an XCom: the state file is the one
place they are written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final

from rapport import zones
from rapport.settings import get_settings
from rapport.sources import SourceError
from rapport.sources.bluesky.client import Credentials, Session, create_session, refresh_session
from rapport.sources.bluesky.settings import NAME
from rapport.sources.http import Bounds, ClientError, HttpStats

logger = logging.getLogger("rapport.sources.bluesky")

STATE_VERSION: Final = 1
_FIELDS: Final = ("service", "identifier", "credentials", "did", "accessJwt", "refreshJwt")


def session_state_file() -> Path:
    """The run's session file, from the settings (``RAPPORT_DATA_DIR``).

    Raises ``SourceError`` when the settings put it inside the landing or the
    published zone, where it would be landed or served.
    """
    settings = get_settings()
    path = zones.session_state_file(settings.data_dir, NAME)
    for zone, variable in (
        (settings.landing_dir, "RAPPORT_LANDING_DIR"),
        (settings.published_dir, "RAPPORT_PUBLISHED_DIR"),
    ):
        if path.is_relative_to(zone):
            raise SourceError(
                f"the {NAME} session file {path} would be inside {variable} ({zone}), where it "
                "would be landed or published: set RAPPORT_DATA_DIR or that variable elsewhere"
            )
    return path


@dataclass(frozen=True)
class _Entry:
    """What the state file holds: the session and whose it is."""

    service: str
    identifier: str
    credentials: str
    session: Session


class SharedSession:
    """The session of one run on one PDS for one login account, shared through ``state_file``.

    Arguments:
        state_file: where the session is kept (:func:`session_state_file`).
        pds_url: where to sign in and refresh.
        credentials: the identifier and app password.
        account_id: the account being extracted, named in errors and log lines.
        stats: the extraction's counters: a sign-in or a refresh it makes counts there.
        timeout, bounds: as for :func:`~rapport.sources.bluesky.client.create_session`.
    """

    def __init__(
        self,
        state_file: Path,
        pds_url: str,
        credentials: Credentials,
        *,
        account_id: str,
        stats: HttpStats,
        timeout: tuple[float, float] = (5.0, 30.0),
        bounds: Bounds | None = None,
    ) -> None:
        self.state_file = state_file
        self.pds_url = pds_url.rstrip("/")
        self.credentials = credentials
        self.account_id = account_id
        self.stats = stats
        self.timeout = timeout
        self.bounds = bounds
        self.session: Session | None = None
        """The session this extraction reads with, once :meth:`current` has returned it."""
        # The PDS, the identifier and the password: a change of any of them is another session.
        self._fingerprint = hashlib.sha256(
            "\0".join((self.pds_url, credentials.identifier, credentials.password)).encode()
        ).hexdigest()

    def current(self) -> Session:
        """The run's session: the one in the state file when it is of these credentials, else a new sign-in.

        Raises what :func:`~rapport.sources.bluesky.client.create_session` raises.
        """
        with self._locked():
            stored = self._read()
            if stored is not None:
                logger.debug("%s: reusing the run's %s session", self.account_id, NAME)
                self.session = stored
            else:
                self.session = self._sign_in()
            return self.session

    def renew(self) -> Session:
        """A session to replace :attr:`session`, whose access token the PDS refused.

        Another task's renewal, when the state file holds a newer session;
        else a refresh with the refresh token; else (no refresh token, or the
        PDS refused it) a new sign-in. Raises what the refresh (but a refusal)
        and the sign-in raise.
        """
        with self._locked():
            stale = self.session
            stored = self._read()
            if stored is not None and (stale is None or stored.access_jwt != stale.access_jwt):
                logger.info("%s: using the %s session another task renewed", self.account_id, NAME)
                self.session = stored
                return stored
            current = stored or stale
            if current is not None and current.refresh_jwt:
                try:
                    refreshed = refresh_session(
                        self.pds_url,
                        current,
                        account_id=self.account_id,
                        stats=self.stats,
                        secrets=(self.credentials.password,),
                        timeout=self.timeout,
                        bounds=self.bounds,
                    )
                except ClientError as error:
                    if error.status not in (HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED):
                        raise
                    logger.info(
                        "%s: the PDS refused to refresh the %s session (%s): signing in anew",
                        self.account_id,
                        NAME,
                        error.response.error if error.response is not None else error.status,
                    )
                else:
                    refreshed = Session(
                        refreshed.access_jwt, refreshed.refresh_jwt, refreshed.did or current.did
                    )
                    self._write(refreshed)
                    self.session = refreshed
                    return refreshed
            self.session = self._sign_in()
            return self.session

    # -- internals ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.state_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with zones.file_lock(zones.state_lock_file(self.state_file), wait=True):
            yield

    def _sign_in(self) -> Session:
        session = create_session(
            self.pds_url,
            self.credentials,
            account_id=self.account_id,
            stats=self.stats,
            timeout=self.timeout,
            bounds=self.bounds,
        )
        self._write(session)
        return session

    def _read(self) -> Session | None:
        """The stored session when it is of these credentials; ``None`` when there is none, or another's.

        A file that cannot be read is set aside with a warning naming it.
        """
        try:
            text = self.state_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            self._set_aside(f"cannot be read ({type(error).__name__})")
            return None
        try:
            entry = _parse(json.loads(text))
        except (ValueError, RecursionError) as problem:
            self._set_aside(str(problem))
            return None
        if (entry.service, entry.identifier, entry.credentials) != (
            self.pds_url,
            self.credentials.identifier,
            self._fingerprint,
        ):
            logger.info(
                "%s: the stored %s session is of other credentials or another PDS: signing in anew",
                self.account_id,
                NAME,
            )
            return None
        return entry.session

    def _set_aside(self, problem: str) -> None:
        aside = zones.damaged_state_file(self.state_file, uuid.uuid4().hex[:12])
        try:
            self.state_file.replace(aside)
        except OSError:
            aside = self.state_file  # it could not even be moved: the next write replaces it
        logger.warning(
            "%s: the %s session file %s is damaged (%s): set aside as %s; signing in anew",
            self.account_id,
            NAME,
            self.state_file,
            problem,
            aside.name,
        )

    def _write(self, session: Session) -> None:
        """Replace the state file atomically: a private temporary file, synced, then renamed."""
        document = {
            "version": STATE_VERSION,
            "service": self.pds_url,
            "identifier": self.credentials.identifier,
            "credentials": self._fingerprint,
            "did": session.did,
            "accessJwt": session.access_jwt,
            "refreshJwt": session.refresh_jwt,
        }
        folder = self.state_file.parent
        descriptor, name = tempfile.mkstemp(prefix=f".{self.state_file.name}.", dir=folder)  # mode 0600
        temporary = Path(name)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(document, file)
                file.flush()
                os.fsync(file.fileno())
            temporary.replace(self.state_file)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        with contextlib.suppress(OSError):
            directory = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)


def _parse(document: Any) -> _Entry:
    """Read a state document; raises ``ValueError`` naming what is wrong (never a value)."""
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    if document.get("version") != STATE_VERSION:
        raise ValueError(f"version is not {STATE_VERSION}")
    for name in _FIELDS:
        value = document.get(name)
        optional = name in ("did", "refreshJwt")
        if not (isinstance(value, str) and value) and not (optional and value is None):
            raise ValueError(f"{name} is missing or not a string")
    return _Entry(
        service=document["service"],
        identifier=document["identifier"],
        credentials=document["credentials"],
        session=Session(document["accessJwt"], document["refreshJwt"], document["did"]),
    )
