"""What the codes of an access change say, in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

KINDS = {
    "caseload_move": _l("Move a whole caseload"),
    "client_move": _l("Move one client"),
    "coassignment": _l("Co-assign a collaborator"),
    "records_release": _l("Release records after an account reset"),
}
STATUSES = {
    "pending": _l("Waiting for approval"),
    "approved": _l("Approved"),
    "refused": _l("Refused"),
    "withdrawn": _l("Withdrawn by the proposer"),
    "lapsed": _l("Lapsed (not decided in time)"),
}
REASONS = {
    "left_programme": _l("The collaborator left the programme"),
    "long_absence": _l("Long absence (leave, illness)"),
    "workload": _l("Balancing workload"),
    "client_request": _l("The client asked for another collaborator"),
    "same_person": _l("The same person is followed by both collaborators"),
    "other": _l("Other reason (explain to the approver in person)"),
    "account_recovery": _l("The collaborator's password or second factor was reset"),
}
PROPOSABLE_REASONS = ("left_programme", "long_absence", "workload", "client_request", "other")
SETUP_ACTIONS = {
    "admin.user_created": _l("created the account"),
    "auth.password_reset": _l("reset its password"),
    "auth.second_factor_reset": _l("reset its second factor"),
    "admin.user_access_changed": _l("changed its role or organisation"),
}
REFUSALS = {
    "not_a_collaborator": _l("Choose a collaborator from the list."),
    "same_collaborator": _l("The client is already with this collaborator."),
    "inactive_collaborator": _l("This collaborator's account is deactivated."),
    "target_held": _l("This collaborator's records are on hold after an account reset: release them first."),
    "recently_set_up_by_you": _l("You created or reset this account in the last 14 days. Another administrator "
                                 "or the supervisor must handle it."),
    "nothing_to_move": _l("This collaborator has no clients to move."),
    "no_such_code": _l("No client has this display code."),
    "no_such_request": _l("This request was already handled."),
    "already_pending": _l("The same change is already waiting for approval."),
    "choose_reason": _l("Choose a reason."),
    "not_found": _l("This change no longer exists."),
    "lapsed": _l("This change was not decided in time and has lapsed. The administrator may propose it again."),
    "already_decided": _l("This change was already decided, perhaps by someone else a moment ago."),
    "not_an_approver": _l("Only a supervisor or an administrator can decide."),
    "own_request": _l("You proposed this change: a second person must decide it."),
    "approver_set_up_by_proposer": _l("The administrator who proposed this change created or reset your account "
                                      "in the last 14 days: another person must decide it."),
    "changed_since": _l("The situation changed since this was proposed (the account or the client moved on). "
                        "Refuse it; the administrator can propose it again."),
    "not_yours": _l("Only the administrator who proposed a change can withdraw it."),
    "incomplete": _l("The form was incomplete: reload the page and choose again."),
}
