"""Every audit action casework writes, with the label people read (the audit viewer, a client's
access history). A test fails on an action written but not listed here, or listed but never written
(tests/test_audit_actions.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from casework import vocab

LABELS = {
    # sign-in and accounts
    "auth.login": _l("Signed in"),
    "auth.login_failed": _l("Sign-in failed"),
    "auth.login_refused_locked": _l("Sign-in refused: account locked"),
    "auth.locked": _l("Account locked after failed attempts"),
    "auth.logout": _l("Signed out"),
    "auth.password_changed": _l("Changed own password"),
    "auth.password_rehashed": _l("Password hash renewed"),
    "auth.password_reset": _l("Password reset by an administrator"),
    "auth.recovery_code_used": _l("Signed in with a recovery code"),
    "auth.recovery_codes_replaced": _l("Made new recovery codes"),
    "auth.second_factor_confirm_failed": _l("Second factor set-up: wrong code"),
    "auth.second_factor_enrolled": _l("Second factor switched on"),
    "auth.second_factor_key_replaced": _l("Second factor set-up: new key made"),
    "auth.second_factor_reset": _l("Second factor reset by an administrator"),
    "auth.sessions_revoked": _l("Signed out everywhere"),
    "auth.form_held": _l("A form was kept after the session ended"),
    "admin.user_created": _l("New account made"),
    "admin.user_updated": _l("Account details changed"),
    "admin.user_access_changed": _l("Account role or organisation changed"),
    "admin.user_deactivated": _l("Account deactivated"),
    "admin.user_reactivated": _l("Account reactivated"),
    "admin.sessions_revoked": _l("Sessions ended by an administrator"),
    # who may reach which records
    "access.change_proposed": _l("Access change proposed"),
    "access.change_approved": _l("Access change approved"),
    "access.change_refused": _l("Access change refused"),
    "access.change_withdrawn": _l("Access change withdrawn"),
    "access.records_held": _l("Records held after a sign-in reset"),
    "access.records_released": _l("Held records released"),
    # client records
    "client.registered": _l("Registered"),
    "client.viewed": _l("Opened"),
    "client.searched": _l("Searched the caseload"),
    "client.uic_lookup": _l("Looked up a UIC"),
    "client.uic_matched": _l("Found by someone else's UIC search"),
    "client.corrected": _l("Corrected details"),
    "client.note_corrected": _l("Corrected a note"),
    "client.follow_up_corrected": _l("Corrected a follow-up"),
    "client.assessment_corrected": _l("Corrected assessment notes"),
    "client.coassignment_removed": _l("Removed a co-assigned collaborator"),
    "client.consent_recorded": _l("Recorded consent"),
    "client.consent_withdrawn": _l("Withdrew consent"),
    "client.assessed": _l("Assessed needs"),
    "client.note_added": _l("Added a note"),
    "client.follow_up_added": _l("Added a follow-up"),
    "client.follow_up_done": _l("Completed a follow-up"),
    "client.closed": _l("Closed the case"),
    "client.reopened": _l("Reopened the case"),
    "client.reassigned": _l("Moved to another collaborator"),
    "client.caseload_reassigned": _l("Whole caseload moved"),
    "client.coassigned": _l("Co-assigned a collaborator"),
    "client.coassign_requested": _l("Asked to be co-assigned"),
    "client.age_band_updated": _l("Age band updated (birthday)"),
    "client.erased": _l("Record erased"),
    "client.worklist_viewed": _l("Opened the worklist"),
    # referrals
    "referral.created": _l("Referral made"),
    "referral.viewed": _l("Referral opened"),
    "referral.slip_viewed": _l("Referral slip opened"),
    "referral.feedback_sent": _l("Feedback sent to the referrer"),
    **{f"referral.{status}": _l("Referral status: %(status)s", status=label)
       for status, label in vocab.REFERRAL_STATUSES.items() if status != "requested"},
    # directory, reports, operations
    "directory.organisation_created": _l("Organisation added"),
    "directory.organisation_changed": _l("Organisation changed"),
    "directory.location_created": _l("Location added"),
    "directory.location_changed": _l("Location changed"),
    "directory.service_created": _l("Service added"),
    "directory.service_changed": _l("Service changed"),
    "directory.imported": _l("Directory imported"),
    "directory.exported": _l("Directory exported"),
    "report.viewed": _l("Report opened"),
    "report.exported": _l("Report exported"),
    "report.printed": _l("Report printed"),
    "report.refreshed": _l("Report counted again"),
    "report.submitted": _l("Report submitted"),
    "report.submitted_viewed": _l("Submitted report opened"),
    "report.submitted_exported": _l("Submitted report exported"),
    "report.submitted_printed": _l("Submitted report printed"),
    "integrity.failure": _l("A stored value failed its integrity check"),
    "keys.retired": _l("A data key was retired"),
    "retention.run": _l("Old closed records erased (retention)"),
    "system.backup_made": _l("Database backed up"),
    "system.restored": _l("Database restored from a backup"),
}
OTHER = _l("Other action")


def label(action: str) -> object:
    return LABELS.get(action, OTHER)
