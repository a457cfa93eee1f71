"""The keyring: key files in a directory outside the database (docs/DESIGN.md §3).

Layout of ``CASEWORK_KEYS_DIR`` (every file mode 0600, the directory 0700)::

    data-<key id>.key   32 random bytes, base64: a data key for field encryption
    primary             the key id new values are encrypted with
    index-root.key      32 random bytes, base64: root of every blind-index key
    session.key         32 random bytes, base64: signs session cookies
    EXAMPLE-DO-NOT-USE  present only in the published example keyring

Key ids are short random hex strings so that they say nothing about order or age.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from casework.errors import KeyringError

KEY_BYTES = 32
EXAMPLE_MARKER = "EXAMPLE-DO-NOT-USE"
# SHA-256 of each key in the published keys.example/ (data, index root, session): its keys are
# recognised even when copied without the marker file. Update together with keys.example/.
EXAMPLE_KEY_FINGERPRINTS = frozenset({
    "43bb8f688797760eac9adc063e0e1cfce1c32de68c98a3cbcc3061119411c73a",
    "0c985112aed78be31e3247f3c223c30064ddabd9e6313fdef1fc89c04680fde5",
    "68c2510f334d1015fb8243bad2e8e027f0301b18003071df3f6b41de4acc5a4c",
})
PRIMARY_FILE = "primary"
INDEX_FILE = "index-root.key"
SESSION_FILE = "session.key"
DATA_PREFIX = "data-"
DATA_SUFFIX = ".key"


def _write_secret(path: Path, content: str) -> None:
    """Create or replace a key file atomically, never readable by others."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(content + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _new_key_text() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def _read_key(path: Path) -> bytes:
    try:
        raw = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
    except (ValueError, UnicodeDecodeError):
        raise KeyringError(f"key file {path.name} in CASEWORK_KEYS_DIR is damaged (not base64)") from None
    if len(raw) != KEY_BYTES:
        raise KeyringError(f"key file {path.name} in CASEWORK_KEYS_DIR must hold {KEY_BYTES} bytes")
    return raw


@dataclass(frozen=True)
class Keyring:
    """Loaded key material. Its repr never shows a key."""

    directory: Path
    data_keys: dict[str, bytes]
    primary_id: str
    index_root: bytes
    session_secret: bytes
    is_example: bool

    def __repr__(self) -> str:
        return f"Keyring({self.directory}, keys={sorted(self.data_keys)}, primary={self.primary_id})"

    def stamp(self) -> tuple[int, tuple[str, ...]]:
        """What changes on disk when keys are rotated or retired (cheap to read)."""
        return directory_stamp(self.directory)

    def reload(self) -> Keyring:
        """The keyring as it is on disk now (same checks as at start)."""
        return Keyring.load(self.directory, allow_example=self.is_example)

    @classmethod
    def load(cls, directory: Path, *, allow_example: bool) -> Keyring:
        """Load and check a keyring; refuse unsafe permissions, gaps and misuse of the example."""
        directory = Path(directory)
        if not directory.is_dir():
            raise KeyringError(
                f"no keyring at {directory}: run `casework keys init` or set CASEWORK_KEYS_DIR"
            )
        is_example = (directory / EXAMPLE_MARKER).exists()
        if is_example and not allow_example:
            raise KeyringError(
                f"{directory} is the published example keyring; it is allowed only in development "
                "or demo mode: run `casework keys init` with CASEWORK_KEYS_DIR set to a new directory"
            )
        _check_permissions(directory, is_example)
        primary_path = directory / PRIMARY_FILE
        if not primary_path.is_file():
            raise KeyringError(f"{directory} has no '{PRIMARY_FILE}' file: run `casework keys init`")
        primary_id = primary_path.read_text(encoding="ascii").strip()
        data_keys = {
            p.name[len(DATA_PREFIX) : -len(DATA_SUFFIX)]: _read_key(p)
            for p in sorted(directory.glob(f"{DATA_PREFIX}*{DATA_SUFFIX}"))
        }
        if primary_id not in data_keys:
            raise KeyringError(
                f"the primary data key '{primary_id}' is missing from {directory}: restore it "
                "from your key backup"
            )
        for name in (INDEX_FILE, SESSION_FILE):
            if not (directory / name).is_file():
                raise KeyringError(f"key file {name} is missing from {directory}: restore it from backup")
        index_root, session_secret = _read_key(directory / INDEX_FILE), _read_key(directory / SESSION_FILE)
        if not is_example and _holds_published_key([*data_keys.values(), index_root, session_secret]):
            if not allow_example:
                raise KeyringError(
                    f"{directory} holds keys copied from the published example keyring; they are allowed "
                    "only in development or demo mode: run `casework keys init` with CASEWORK_KEYS_DIR "
                    "set to a new directory"
                )
            is_example = True
        return cls(
            directory=directory,
            data_keys=data_keys,
            primary_id=primary_id,
            index_root=index_root,
            session_secret=session_secret,
            is_example=is_example,
        )

    @staticmethod
    def create(directory: Path) -> str:
        """Create a new keyring in an empty or absent directory; returns the primary key id."""
        directory = Path(directory)
        if directory.exists() and any(directory.iterdir()):
            raise KeyringError(f"{directory} is not empty: refusing to overwrite an existing keyring")
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        key_id = secrets.token_hex(4)
        _write_secret(directory / f"{DATA_PREFIX}{key_id}{DATA_SUFFIX}", _new_key_text())
        _write_secret(directory / INDEX_FILE, _new_key_text())
        _write_secret(directory / SESSION_FILE, _new_key_text())
        _write_secret(directory / PRIMARY_FILE, key_id)
        return key_id

    def rotate(self) -> str:
        """Add a new data key and make it primary; old keys stay until retired."""
        key_id = secrets.token_hex(4)
        _write_secret(self.directory / f"{DATA_PREFIX}{key_id}{DATA_SUFFIX}", _new_key_text())
        _write_secret(self.directory / PRIMARY_FILE, key_id)
        return key_id

    def remove_data_key(self, key_id: str) -> None:
        """Delete a data key file. Callers must first prove no value uses it."""
        if key_id == self.primary_id:
            raise KeyringError("the primary key cannot be retired: rotate first")
        path = self.directory / f"{DATA_PREFIX}{key_id}{DATA_SUFFIX}"
        if not path.is_file():
            raise KeyringError(f"no data key '{key_id}' in {self.directory}")
        path.unlink()


def directory_stamp(directory: Path) -> tuple[int, tuple[str, ...]]:
    try:
        primary_mtime = (Path(directory) / PRIMARY_FILE).stat().st_mtime_ns
    except OSError:
        primary_mtime = 0
    return primary_mtime, tuple(sorted(p.name for p in Path(directory).glob(f"{DATA_PREFIX}*{DATA_SUFFIX}")))


def primary_age_seconds(directory: Path) -> float:
    """Seconds since the primary key last changed (rotation)."""
    return time.time() - (Path(directory) / PRIMARY_FILE).stat().st_mtime


def _holds_published_key(keys: list[bytes]) -> bool:
    return any(hashlib.sha256(key).hexdigest() in EXAMPLE_KEY_FINGERPRINTS for key in keys)


def _check_permissions(directory: Path, is_example: bool) -> None:
    if is_example:
        return  # the example is public anyway; a git checkout cannot keep 0600
    for path in [directory, *directory.iterdir()]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise KeyringError(
                f"{path} is readable by other users (mode {mode:o}): run "
                f"`chmod 700 {directory} && chmod 600 {directory}/*`"
            )
