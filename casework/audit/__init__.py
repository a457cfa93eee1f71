"""Tamper-evident audit log (docs/DESIGN.md §7)."""

from casework.audit.chain import ChainBreak, head, record, verify
from casework.audit.checkpoint import Checkpoint
from casework.audit.models import AuditEvent

__all__ = ["AuditEvent", "ChainBreak", "Checkpoint", "head", "record", "verify"]
