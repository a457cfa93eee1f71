"""Keys, field encryption and blind indexes. No Flask imports here."""

from casework.crypto.blind_index import BlindIndexer, canonical_uic
from casework.crypto.fields import FieldCipher
from casework.crypto.keyring import Keyring
from casework.crypto.seal import Sealer

__all__ = ["BlindIndexer", "FieldCipher", "Keyring", "Sealer", "canonical_uic"]
