"""The DSA Transparency Database's vocabulary: enum keys, codes, limits and field order.

Transcribed from ../shared/dsa/statement-of-reasons.schema.json beside the repository (itself
a transcription of the European Commission's transparency-database validation rules);
tests/report/test_dsa.py checks every list here against the schema so that drift is caught.
"""

from __future__ import annotations

import re

# Restrictions (DSA Art. 17(1)(a)-(d)).
DECISION_VISIBILITIES = (
    "DECISION_VISIBILITY_CONTENT_REMOVED",
    "DECISION_VISIBILITY_CONTENT_DISABLED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_OTHER",
)

DECISION_MONETARIES = (
    "DECISION_MONETARY_SUSPENSION",
    "DECISION_MONETARY_TERMINATION",
    "DECISION_MONETARY_OTHER",
)

DECISION_PROVISIONS = (
    "DECISION_PROVISION_PARTIAL_SUSPENSION",
    "DECISION_PROVISION_TOTAL_SUSPENSION",
    "DECISION_PROVISION_PARTIAL_TERMINATION",
    "DECISION_PROVISION_TOTAL_TERMINATION",
)

DECISION_ACCOUNTS = (
    "DECISION_ACCOUNT_SUSPENDED",
    "DECISION_ACCOUNT_TERMINATED",
)

ACCOUNT_TYPES = (
    "ACCOUNT_TYPE_BUSINESS",
    "ACCOUNT_TYPE_PRIVATE",
)

DECISION_GROUNDS = (
    "DECISION_GROUND_ILLEGAL_CONTENT",
    "DECISION_GROUND_INCOMPATIBLE_CONTENT",
)

CONTENT_TYPES = (
    "CONTENT_TYPE_APP",
    "CONTENT_TYPE_AUDIO",
    "CONTENT_TYPE_IMAGE",
    "CONTENT_TYPE_PRODUCT",
    "CONTENT_TYPE_SYNTHETIC_MEDIA",
    "CONTENT_TYPE_TEXT",
    "CONTENT_TYPE_VIDEO",
    "CONTENT_TYPE_OTHER",
)

# Statement categories, in the schema's order.
CATEGORIES = (
    "STATEMENT_CATEGORY_ANIMAL_WELFARE",
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE",
)

# category_specification keywords, in the schema's order.
KEYWORDS = (
    "KEYWORD_ADULT_SEXUAL_MATERIAL",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
    "KEYWORD_ANIMAL_HARM",
    "KEYWORD_BIOMETRIC_DATA_BREACH",
    "KEYWORD_BULLYING_AGAINST_GIRLS",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
    "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
    "KEYWORD_COORDINATED_HARM",
    "KEYWORD_COPYRIGHT_INFRINGEMENT",
    "KEYWORD_CYBER_BULLYING_INTIMIDATION",
    "KEYWORD_CYBER_HARASSMENT",
    "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
    "KEYWORD_CYBER_INCITEMENT",
    "KEYWORD_CYBER_STALKING",
    "KEYWORD_CYBER_STALKING_AGAINST_WOMEN",
    "KEYWORD_DATA_FALSIFICATION",
    "KEYWORD_DEFAMATION",
    "KEYWORD_DESIGN_INFRINGEMENT",
    "KEYWORD_DISCRIMINATION",
    "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
    "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
    "KEYWORD_GEOGRAPHICAL_REQUIREMENTS",
    "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
    "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
    "KEYWORD_HATE_SPEECH",
    "KEYWORD_HIDDEN_ADVERTISEMENT",
    "KEYWORD_HUMAN_EXPLOITATION",
    "KEYWORD_HUMAN_TRAFFICKING",
    "KEYWORD_ILLEGAL_ORGANIZATIONS",
    "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",
    "KEYWORD_INAUTHENTIC_ACCOUNTS",
    "KEYWORD_INAUTHENTIC_LISTINGS",
    "KEYWORD_INAUTHENTIC_USER_REVIEWS",
    "KEYWORD_INCITEMENT_AGAINST_WOMEN",
    "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
    "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
    "KEYWORD_LANGUAGE_REQUIREMENTS",
    "KEYWORD_MISINFORMATION_DISINFORMATION",
    "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
    "KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
    "KEYWORD_MISSING_PROCESSING_GROUND",
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
    "KEYWORD_NONCOMPLIANCE_PRICING",
    "KEYWORD_NUDITY",
    "KEYWORD_PATENT_INFRINGEMENT",
    "KEYWORD_PHISHING",
    "KEYWORD_PROHIBITED_PRODUCTS",
    "KEYWORD_PYRAMID_SCHEMES",
    "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
    "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
    "KEYWORD_RISK_PUBLIC_HEALTH",
    "KEYWORD_SELF_MUTILATION",
    "KEYWORD_STALKING",
    "KEYWORD_SUICIDE",
    "KEYWORD_TERRORIST_CONTENT",
    "KEYWORD_TRADE_SECRET_INFRINGEMENT",
    "KEYWORD_TRADEMARK_INFRINGEMENT",
    "KEYWORD_TRAFFICKING_WOMEN_GIRLS",
    "KEYWORD_UNLAWFUL_SALE_ANIMALS",
    "KEYWORD_UNSAFE_CHALLENGES",
    "KEYWORD_UNSAFE_PRODUCTS",
    "KEYWORD_VIOLATION_EU_LAW",
    "KEYWORD_VIOLATION_NATIONAL_LAW",
    "KEYWORD_OTHER",
)

SOURCE_TYPES = (
    "SOURCE_ARTICLE_16",
    "SOURCE_TRUSTED_FLAGGER",
    "SOURCE_TYPE_OTHER_NOTIFICATION",
    "SOURCE_VOLUNTARY",
)

# automated_detection and incompatible_content_illegal take these literals, not keys.
YES_NO = ("Yes", "No")

AUTOMATED_DECISIONS = (
    "AUTOMATED_DECISION_FULLY",
    "AUTOMATED_DECISION_PARTIALLY",
    "AUTOMATED_DECISION_NOT_AUTOMATED",
)

# territorial_scope accepts the EU and EEA member states (Greece is GR, not EL).
EEA_CODES = (
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IS",
    "IT",
    "LI",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "NO",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
)

TERRITORIAL_CODES = EEA_CODES

EU_CODES = (
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
)

# content_language: upper-case ISO 639-1 codes, in the schema's order.
LANGUAGES = (
    "AB",
    "AA",
    "AF",
    "AK",
    "SQ",
    "AM",
    "AR",
    "AN",
    "HY",
    "AS",
    "AV",
    "AE",
    "AY",
    "AZ",
    "BM",
    "BA",
    "EU",
    "BE",
    "BN",
    "BH",
    "BI",
    "BS",
    "BR",
    "BG",
    "MY",
    "CA",
    "KM",
    "CH",
    "CE",
    "NY",
    "ZH",
    "CU",
    "CV",
    "KW",
    "CO",
    "CR",
    "HR",
    "CS",
    "DA",
    "DV",
    "NL",
    "DZ",
    "EN",
    "EO",
    "ET",
    "EE",
    "FO",
    "FJ",
    "FI",
    "FR",
    "FF",
    "GD",
    "GL",
    "LG",
    "KA",
    "DE",
    "KI",
    "EL",
    "KL",
    "GN",
    "GU",
    "HT",
    "HA",
    "HE",
    "HZ",
    "HI",
    "HO",
    "HU",
    "IS",
    "IO",
    "IG",
    "ID",
    "IA",
    "IE",
    "IU",
    "IK",
    "GA",
    "IT",
    "JA",
    "JV",
    "KN",
    "KR",
    "KS",
    "KK",
    "RW",
    "KV",
    "KG",
    "KO",
    "KJ",
    "KU",
    "KY",
    "LO",
    "LA",
    "LV",
    "LB",
    "LI",
    "LN",
    "LT",
    "LU",
    "MK",
    "MG",
    "MS",
    "ML",
    "MT",
    "GV",
    "MI",
    "MR",
    "MH",
    "RO",
    "MN",
    "NA",
    "NV",
    "ND",
    "NG",
    "NE",
    "SE",
    "NO",
    "NB",
    "NN",
    "II",
    "OC",
    "OJ",
    "OR",
    "OM",
    "OS",
    "PI",
    "PA",
    "PS",
    "FA",
    "PL",
    "PT",
    "QU",
    "RM",
    "RN",
    "RU",
    "SM",
    "SG",
    "SA",
    "SC",
    "SR",
    "SN",
    "SD",
    "SI",
    "SK",
    "SL",
    "SO",
    "ST",
    "NR",
    "ES",
    "SU",
    "SW",
    "SS",
    "SV",
    "TL",
    "TY",
    "TG",
    "TA",
    "TT",
    "TE",
    "TH",
    "BO",
    "TI",
    "TO",
    "TS",
    "TN",
    "TR",
    "TK",
    "TW",
    "UG",
    "UK",
    "UR",
    "UZ",
    "VE",
    "VI",
    "VO",
    "WA",
    "CY",
    "FY",
    "WO",
    "XH",
    "YI",
    "YO",
    "ZA",
    "ZU",
)

# Every field of a statement, in the schema's property order (the CSV column order).
FIELDS = (
    "decision_visibility",
    "decision_visibility_other",
    "decision_monetary",
    "decision_monetary_other",
    "decision_provision",
    "decision_account",
    "account_type",
    "category_specification",
    "category_specification_other",
    "decision_ground",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
    "content_type",
    "content_type_other",
    "category",
    "category_addition",
    "territorial_scope",
    "content_language",
    "content_date",
    "application_date",
    "end_date_account_restriction",
    "end_date_monetary_restriction",
    "end_date_service_restriction",
    "end_date_visibility_restriction",
    "decision_facts",
    "source_type",
    "source_identity",
    "automated_detection",
    "automated_decision",
    "puid",
    "content_id",
    "content_id_ean",
)

# Human-readable labels (the schema's x-labels) of the keys a user notice spells out.
LABELS = {
    "DECISION_VISIBILITY_CONTENT_REMOVED": "Removal of content",
    "DECISION_VISIBILITY_CONTENT_DISABLED": "Disabling access to content",
    "DECISION_VISIBILITY_CONTENT_DEMOTED": "Demotion of content",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED": "Age restricted content",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED": "Restricting interaction with content",
    "DECISION_VISIBILITY_CONTENT_LABELLED": "Labelled content",
    "DECISION_VISIBILITY_OTHER": "Other restriction (please specify)",
    "DECISION_ACCOUNT_SUSPENDED": "Suspension of the account",
    "DECISION_ACCOUNT_TERMINATED": "Termination of the account",
    "DECISION_GROUND_ILLEGAL_CONTENT": "Illegal Content",
    "DECISION_GROUND_INCOMPATIBLE_CONTENT": "Content incompatible with terms and conditions",
    "STATEMENT_CATEGORY_ANIMAL_WELFARE": "Animal welfare",
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION": "Consumer information infringements",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE": "Cyber violence",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN": "Cyber violence against women",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS": (
        "Data protection and privacy violations"
    ),
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH": "Illegal or harmful speech",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS": "Intellectual property infringements",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS": (
        "Negative effects on civic discourse or elections"
    ),
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE": (
        "Type of alleged illegal content not specified by the notifier"
    ),
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC": "Other violation of provider’s terms and conditions",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS": "Protection of minors",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY": "Risk for public security",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD": "Scams and/or fraud",
    "STATEMENT_CATEGORY_SELF_HARM": "Self-harm",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS": (
        "Unsafe, non-compliant or prohibited products"
    ),
    "STATEMENT_CATEGORY_VIOLENCE": "Violence",
    "CONTENT_TYPE_APP": "App",
    "CONTENT_TYPE_AUDIO": "Audio",
    "CONTENT_TYPE_IMAGE": "Image",
    "CONTENT_TYPE_PRODUCT": "Product",
    "CONTENT_TYPE_SYNTHETIC_MEDIA": "Synthetic Media",
    "CONTENT_TYPE_TEXT": "Text",
    "CONTENT_TYPE_VIDEO": "Video",
    "CONTENT_TYPE_OTHER": "Other",
    "SOURCE_ARTICLE_16": "Notice submitted in accordance with Article 16 DSA",
    "SOURCE_TRUSTED_FLAGGER": "Notice submitted by a trusted flagger",
    "SOURCE_TYPE_OTHER_NOTIFICATION": "Other type of notification",
    "SOURCE_VOLUNTARY": "Own voluntary initiative",
    "AUTOMATED_DECISION_FULLY": "Fully automated",
    "AUTOMATED_DECISION_PARTIALLY": "Partially automated",
    "AUTOMATED_DECISION_NOT_AUTOMATED": "Not Automated",
}

# maxLength of every length-limited text field.
MAX_LENGTHS = {
    "decision_visibility_other": 500,
    "decision_monetary_other": 500,
    "category_specification_other": 500,
    "decision_ground_reference_url": 500,
    "illegal_content_legal_ground": 500,
    "illegal_content_explanation": 2000,
    "incompatible_content_ground": 500,
    "incompatible_content_explanation": 2000,
    "content_type_other": 500,
    "decision_facts": 5000,
    "source_identity": 500,
    "puid": 500,
}

# Date bounds, inclusive, as YYYY-MM-DD (ISO dates compare correctly as strings).
CONTENT_DATE_MIN = "2000-01-01"
APPLICATION_DATE_MIN = "2020-01-01"
DATE_MAX = "2038-01-01"

PUID_PATTERN = re.compile(r"[a-zA-Z0-9_-]+")
BATCH_MAX = 100  # statements per POST /api/v1/statements

CATEGORY_PREFIX = "STATEMENT_CATEGORY_"
KEYWORD_PREFIX = "KEYWORD_"


def category_key(value: str) -> str | None:
    """The STATEMENT_CATEGORY_* key `value` names (the key or its short form), or None."""
    return _key(value, CATEGORY_PREFIX, CATEGORIES)


def keyword_key(value: str) -> str | None:
    """The KEYWORD_* key `value` names (the key or its short form), or None."""
    return _key(value, KEYWORD_PREFIX, KEYWORDS)


def short_form(key: str) -> str:
    """`STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY` -> `risk_for_public_security`."""
    for prefix in (CATEGORY_PREFIX, KEYWORD_PREFIX):
        if key.startswith(prefix):
            return key[len(prefix) :].lower()
    return key.lower()


def _key(value: str, prefix: str, keys: tuple[str, ...]) -> str | None:
    if value in keys:
        return value
    # Only the exact lower-case short form: a mixed-case or prefixed-lower-case value is
    # more likely a typo than a deliberate spelling, and the policy should say one thing.
    if value == value.lower():
        key = prefix + value.upper()
        if key in keys:
            return key
    return None
