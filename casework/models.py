"""Every mapped table, imported in one place for Alembic and the tests."""

from casework.approvals.models import AccessChange
from casework.audit.models import AuditEvent
from casework.auth.models import HeldForm, RecoveryCode, User, UserSession
from casework.clients.models import (
    Assessment,
    AssessmentNeed,
    BlindIndexWidth,
    CaseNote,
    Client,
    ClientAssignment,
    CoassignRequest,
    Consent,
    FollowUp,
)
from casework.db import Base
from casework.directory.models import Location, Organisation, Service, ServiceAtLocation
from casework.referrals.models import Referral, ReferralEvent, ReferralRead
from casework.reports.models import ReportSnapshot, SubmittedReport

__all__ = [
    "AccessChange",
    "Assessment",
    "AssessmentNeed",
    "AuditEvent",
    "Base",
    "BlindIndexWidth",
    "CaseNote",
    "Client",
    "ClientAssignment",
    "CoassignRequest",
    "Consent",
    "FollowUp",
    "HeldForm",
    "Location",
    "Organisation",
    "RecoveryCode",
    "Referral",
    "ReferralEvent",
    "ReferralRead",
    "ReportSnapshot",
    "Service",
    "ServiceAtLocation",
    "SubmittedReport",
    "User",
    "UserSession",
]
