"""Named failures that the application maps to one clear message each.

Each carries a message meant for an operator or a user; none of them ever
carries key material or client data.
"""


class CaseworkError(Exception):
    """Base class for failures casework reports without a stack trace."""


class ConfigError(CaseworkError):
    """The configuration cannot work; the message names the setting to fix."""


class KeyringError(ConfigError):
    """The keyring is missing, unsafe, or not allowed in this mode."""


class DatabaseUnavailable(ConfigError):
    """The database URL is wrong or the server cannot be reached."""


class FieldIntegrityError(CaseworkError):
    """An encrypted value failed authentication: tampered, moved, or wrong key."""

    def __init__(self, table: str, column: str, row_id: str) -> None:
        super().__init__(f"encrypted value failed its integrity check: {table}.{column} row {row_id}")
        self.table = table
        self.column = column
        self.row_id = row_id


class RowIntegrityError(FieldIntegrityError):
    """A row's seal does not match its access-deciding columns: changed without the keys."""

    def __init__(self, table: str, row_id: str) -> None:
        super().__init__(table, "seal", row_id)
        self.args = (f"row failed its integrity seal: {table} row {row_id}",)


class KeyInUse(CaseworkError):
    """A data key cannot be retired while values still use it."""
