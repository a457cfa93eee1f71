"""Fixed code lists of the domain (docs/DESIGN.md §2, §4). Codes are stored; labels are translated."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLES = {
    "collaborator": _l("Social-work collaborator"),
    "provider": _l("Service provider staff"),
    "supervisor": _l("Supervisor"),
    "admin": _l("System administrator"),
}

SEX_GENDER = {
    "female": _l("Female"),
    "male": _l("Male"),
    "trans_woman": _l("Transgender woman"),
    "trans_man": _l("Transgender man"),
    "other": _l("Other"),
    "undisclosed": _l("Not disclosed"),
}

AGE_BANDS = {
    "lt18": _l("Under 18"),
    "18-24": _l("18–24"),
    "25-34": _l("25–34"),
    "35-49": _l("35–49"),
    "50+": _l("50 and over"),
    "unknown": _l("Unknown"),
}

OUTREACH_SOURCES = {
    "street": _l("Street"),
    "venue": _l("Venue"),
    "online": _l("Online"),
    "hotline": _l("Hotline"),
    "peer": _l("Peer"),
    "walk_in": _l("Walk-in"),
    "other": _l("Other"),
}

CONTACT_PREFERENCES = {
    "do_not_contact": _l("Do not contact"),
    "in_person": _l("In person"),
    "call": _l("Phone call"),
    "sms": _l("SMS"),
}

CLOSE_REASONS = {
    "reintegrated": _l("Reintegrated"),
    "moved": _l("Moved away"),
    "lost_to_follow_up": _l("Lost to follow-up"),
    "withdrew_consent": _l("Withdrew consent"),
    "deceased": _l("Deceased"),
    "other": _l("Other"),
}

CONSENT_PURPOSES = {
    "registration": _l("Registration"),
    "share_with_provider": _l("Sharing with service providers"),
    "contact": _l("Being contacted"),
}

CONSENT_METHODS = {"verbal": _l("Verbal"), "written": _l("Written")}

NEED_LEVELS = {"none": _l("None"), "some": _l("Some"), "urgent": _l("Urgent")}

# code -> (label, indicator group)
NEED_DOMAINS = {
    "hiv_sti_testing": (_l("HIV and STI testing"), "harm_reduction"),
    "hiv_treatment": (_l("HIV treatment (ARV)"), "harm_reduction"),
    "prevention": (_l("Prevention (PrEP, condoms)"), "harm_reduction"),
    "reproductive_health": (_l("Reproductive health"), "harm_reduction"),
    "drug_dependency": (_l("Drug dependency treatment"), "harm_reduction"),
    "mental_health": (_l("Counselling and mental health"), "harm_reduction"),
    "gbv": (_l("Gender-based violence prevention and response"), "harm_reduction"),
    "child_protection": (_l("Child protection"), "harm_reduction"),
    "legal_aid": (_l("Legal aid"), "reintegration"),
    "vocational_training": (_l("Vocational training"), "reintegration"),
    "employment": (_l("Job placement"), "reintegration"),
    "livelihood": (_l("Livelihood and loans"), "reintegration"),
    "social_assistance": (_l("Social assistance (papers, housing, allowances)"), "reintegration"),
}

ORGANISATION_KINDS = {
    "health_station": _l("Health station"),
    "social_assistance": _l("Social assistance"),
    "vocational_training": _l("Vocational training"),
    "employment_service": _l("Employment service"),
    "legal_aid": _l("Legal aid"),
    "peer_group": _l("Peer group"),
    "ngo": _l("Non-governmental organisation"),
    "other": _l("Other"),
}

REFERRAL_STATUSES = {
    "requested": _l("Requested"),
    "received": _l("Received"),
    "accepted": _l("Accepted"),
    "in-progress": _l("In progress"),
    "on-hold": _l("On hold"),
    "completed": _l("Completed"),
    "rejected": _l("Rejected"),
    "cancelled": _l("Cancelled"),
    "failed": _l("Failed"),
    "entered-in-error": _l("Entered in error"),
}
TERMINAL_STATUSES = frozenset({"completed", "rejected", "cancelled", "failed", "entered-in-error"})

URGENCIES = {"routine": _l("Routine"), "urgent": _l("Urgent")}

DECLINE_REASONS = {
    "not-eligible": _l("Not eligible"),
    "no-capacity": _l("No capacity"),
    "service-not-offered": _l("Service not offered"),
    "outside-service-area": _l("Outside service area"),
    "missing-documents": _l("Missing documents"),
    "duplicate-referral": _l("Duplicate referral"),
    "client-declined": _l("Client declined"),
    "unable-to-contact-client": _l("Unable to contact client"),
    "other": _l("Other"),
}
FAILURE_REASONS = {
    "client-refused-services": _l("Client refused services"),
    "lack-of-capacity": _l("Lack of capacity"),
    "services-no-longer-needed": _l("Services no longer needed"),
    "unable-to-contact-client": _l("Unable to contact client"),
    "no-show": _l("Did not attend"),
    "other": _l("Other"),
}
CANCEL_REASONS = {
    "withdrawn-by-referrer": _l("Withdrawn by referrer"),
    "client-withdrew-consent": _l("Client withdrew consent"),
    "expired": _l("Expired"),
    "other": _l("Other"),
}
HOLD_REASONS = {
    "waiting-for-client": _l("Waiting for the client"),
    "waiting-for-documents": _l("Waiting for documents"),
    "capacity": _l("Waiting for capacity"),
    "other": _l("Other"),
}
BUSINESS_STATUSES = {
    "test-done-result-given": _l("Test done, result given"),
    "treatment-started": _l("Treatment started"),
    "prep-initiated": _l("PrEP initiated"),
    "counselling-given": _l("Counselling given"),
    "enrolled-in-course": _l("Enrolled in a course"),
    "job-placed": _l("Placed in a job"),
    "legal-advice-given": _l("Legal advice given"),
    "papers-obtained": _l("Papers obtained"),
    "support-provided": _l("Support provided"),
}

# What a service of each need can say it delivered (the "what was delivered" list offers only these).
BUSINESS_BY_NEED = {
    "hiv_sti_testing": ("test-done-result-given", "counselling-given", "support-provided"),
    "hiv_treatment": ("treatment-started", "counselling-given", "support-provided"),
    "prevention": ("prep-initiated", "counselling-given", "support-provided"),
    "reproductive_health": ("test-done-result-given", "treatment-started", "counselling-given", "support-provided"),
    "drug_dependency": ("treatment-started", "counselling-given", "support-provided"),
    "mental_health": ("counselling-given", "support-provided"),
    "gbv": ("counselling-given", "legal-advice-given", "support-provided"),
    "child_protection": ("counselling-given", "papers-obtained", "support-provided"),
    "legal_aid": ("legal-advice-given", "papers-obtained", "support-provided"),
    "vocational_training": ("enrolled-in-course", "counselling-given", "support-provided"),
    "employment": ("job-placed", "enrolled-in-course", "counselling-given", "support-provided"),
    "livelihood": ("support-provided", "counselling-given", "enrolled-in-course"),
    "social_assistance": ("papers-obtained", "support-provided"),
}


def business_statuses_for(need_domain: str) -> dict[str, object]:
    """The delivered-service labels that fit a need (every one for a need not listed)."""
    codes = BUSINESS_BY_NEED.get(need_domain, tuple(BUSINESS_STATUSES))
    return {code: BUSINESS_STATUSES[code] for code in codes}
