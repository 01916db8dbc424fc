"""Roster formats: recognize an uploaded table by its headers, map its columns, validate its rows.

``detect_format`` recognizes, with no help from the uploader, this product's template and the user files of
Moodle ("Upload users"), Canvas (SIS ``users.csv``), OneRoster 1.1 (``users.csv``) and Google Workspace (the
admin console's user download / bulk-upload file). Header matching ignores case, accents, spaces, underscores,
punctuation and bracketed notes such as ``[Required]``. Anything else gets ``None``, and the page asks the
uploader to map the columns, pre-filled with ``guess_mapping``.

A mapping goes from a field of :data:`FIELDS` to a header, or to a list of headers: for ``roles`` and ``groups``
the values of every listed column are combined (Moodle's ``cohort1``, ``cohort2``...); for the other fields the
first non-empty one wins (Moodle's ``idnumber``, else ``username``).

``normalize`` turns the table into :class:`RosterRow` objects, each with its translated errors; ``duplicates``
then marks rows repeating an earlier row's email or external id. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from tajiconnect.domains.roster.files import RosterFileError, Table
from tajiconnect.i18n import _

# --- fields --------------------------------------------------------------------------------------------------------

NAME_MAX = 200  # users.name is VARCHAR(200); refused, never cut short
GROUP_NAME_MAX = 200
EXTERNAL_ID_MAX = 200

# The roles a row may carry (the same words as accounts.models.ROLES; a unit test keeps them in step).
ROLES: tuple[str, ...] = ("org_admin", "manager", "teacher", "student", "parent", "employer")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One column the import understands. ``multiple``: several values, from several columns or separated by
    ``;`` or ``|`` (roles also by ``,``). ``required``: see :func:`check_mapping` for the name rule."""

    name: str
    required: bool
    multiple: bool


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("email", required=True, multiple=False),
    FieldSpec("name", required=False, multiple=False),  # required unless first_name and/or last_name are mapped
    FieldSpec("first_name", required=False, multiple=False),
    FieldSpec("last_name", required=False, multiple=False),
    FieldSpec("roles", required=False, multiple=True),
    FieldSpec("groups", required=False, multiple=True),
    FieldSpec("parent_email", required=False, multiple=False),
    FieldSpec("external_id", required=False, multiple=False),
)
FIELD_NAMES: tuple[str, ...] = tuple(spec.name for spec in FIELDS)
_MULTIPLE = frozenset(spec.name for spec in FIELDS if spec.multiple)

# This product's own template: the canonical column order (also what the roster export writes).
TEMPLATE_HEADERS: tuple[str, ...] = (
    "email",
    "first_name",
    "last_name",
    "name",
    "roles",
    "groups",
    "parent_email",
    "external_id",
)
_TEMPLATE_EXAMPLE = (
    "amina.wanjiru@example.org",
    "Amina",
    "Wanjiru",
    "",
    "student",
    "Form 2 East; Chess club",
    "grace.wanjiru@example.org",
    "ADM-2024-0117",
)

MappingLike = Mapping[str, str | Sequence[str] | None]


def template_csv() -> bytes:
    """The downloadable template: UTF-8 with a byte-order mark (so Excel shows accents), one example row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(TEMPLATE_HEADERS)
    writer.writerow(_TEMPLATE_EXAMPLE)
    return out.getvalue().encode("utf-8-sig")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --- role words ----------------------------------------------------------------------------------------------------

# Accepted words (compared without case, accents, spaces, "-" or "_") -> role. English, French and Kiswahili,
# plus the role names of Moodle (editingteacher...), OneRoster 1.1/1.2 (aide, guardian, administrator...) and
# Canvas enrollments (ta, observer).
_ROLE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "student": _words(
        "student students learner learners pupil pupils trainee eleve eleves etudiant etudiante etudiants "
        "apprenant apprenante apprenants mwanafunzi wanafunzi"
    ),
    "teacher": _words(
        "teacher teachers instructor tutor trainer lecturer ta teachingassistant aide proctor counselor "
        "editingteacher noneditingteacher coursecreator enseignant enseignante enseignants professeur "
        "professeure prof formateur formatrice mwalimu walimu mkufunzi"
    ),
    "parent": _words(
        "parent parents guardian relative observer mother father parentdeleve pere mere responsablelegal "
        "mzazi wazazi mlezi"
    ),
    "manager": _words(
        "manager managers principal headteacher headmaster headmistress siteadministrator gestionnaire "
        "responsable directeur directrice chefdequipe meneja msimamizi mkuuwashule"
    ),
    "org_admin": _words(
        "orgadmin admin admins administrator administrators districtadministrator systemadministrator "
        "administrateur administratrice msimamizimkuu"
    ),
    "employer": ("employer", "employeur", "mwajiri"),
}
# Shown in the "unknown role" message: a readable subset of the accepted words.
ACCEPTED_ROLE_WORDS: tuple[str, ...] = _words(
    "student learner élève étudiant mwanafunzi teacher enseignant mwalimu parent guardian mzazi manager admin employer"
)


def _key(text: str) -> str:
    """Compare key: accents and bracketed notes removed, case folded, only letters and digits kept."""
    text = re.sub(r"\[[^\]]*\]", "", text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum() and not unicodedata.combining(ch))


ROLE_WORDS: dict[str, str] = {word: role for role, words in _ROLE_SYNONYMS.items() for word in words}
ROLE_WORDS.update({_key(role): role for role in ROLES})


@lru_cache(maxsize=1024)
def role_of(word: str) -> str | None:
    """The role a word means (``"Élève"`` -> ``"student"``), or ``None``."""
    return ROLE_WORDS.get(_key(word))


# --- format detection ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DetectedFormat:
    code: str  # "taji", "moodle", "canvas", "oneroster", "google"
    label: str
    mapping: dict[str, str | list[str]]


FORMAT_CODES: tuple[str, ...] = ("taji", "moodle", "canvas", "oneroster", "google")


def format_label(code: str | None) -> str:
    labels = {
        "taji": _("TajiConnect template"),
        "moodle": _("Moodle (Upload users)"),
        "canvas": _("Canvas (SIS users.csv)"),
        "oneroster": _("OneRoster (users.csv)"),
        "google": _("Google Workspace (user export)"),
    }
    return labels.get(code or "", _("Other (columns mapped by hand)"))


def _numbered(keyed: dict[str, str], prefix: str) -> list[str]:
    """Headers named ``<prefix><n>`` in the order of n (cohort1, cohort2, ... cohort10)."""
    found = []
    for key, header in keyed.items():
        match = re.fullmatch(re.escape(prefix) + r"(\d+)", key)
        if match:
            found.append((int(match.group(1)), header))
    return [header for _n, header in sorted(found)]


def _first(keyed: dict[str, str], *keys: str) -> list[str]:
    return [keyed[k] for k in keys if k in keyed]


def _put(mapping: dict[str, str | list[str]], field: str, headers: list[str]) -> None:
    if not headers:
        return
    mapping[field] = headers if field in _MULTIPLE or len(headers) > 1 else headers[0]


def detect_format(headers: Sequence[str]) -> DetectedFormat | None:
    """Recognize a known format from the header row, with the mapping it implies; ``None`` for anything else."""
    keyed: dict[str, str] = {}
    for header in headers:
        keyed.setdefault(_key(header), header)
    keys = set(keyed)
    mapping: dict[str, str | list[str]] = {}
    code: str

    if {"sourcedid", "givenname", "familyname"} <= keys:
        code = "oneroster"  # 1.1 has a role column; 1.2 moved roles to roles.csv (then everyone gets the default)
        _put(mapping, "email", _first(keyed, "email", "username"))
        _put(mapping, "first_name", [keyed["givenname"]])
        _put(mapping, "last_name", [keyed["familyname"]])
        _put(mapping, "roles", _first(keyed, "role"))
        _put(mapping, "external_id", [keyed["sourcedid"]])
    elif {"userid", "loginid"} <= keys:
        code = "canvas"
        _put(mapping, "email", _first(keyed, "email", "loginid"))
        _put(mapping, "name", _first(keyed, "fullname"))
        _put(mapping, "first_name", _first(keyed, "firstname"))
        _put(mapping, "last_name", _first(keyed, "lastname"))
        _put(mapping, "external_id", [keyed["userid"]])
    elif {"firstname", "lastname", "emailaddress", "orgunitpath"} <= keys:
        code = "google"
        _put(mapping, "email", [keyed["emailaddress"]])
        _put(mapping, "first_name", [keyed["firstname"]])
        _put(mapping, "last_name", [keyed["lastname"]])
        _put(mapping, "groups", [keyed["orgunitpath"]])
        _put(mapping, "external_id", _first(keyed, "employeeid"))
    elif {"username", "firstname", "lastname", "email"} <= keys:
        code = "moodle"
        _put(mapping, "email", [keyed["email"]])
        _put(mapping, "first_name", [keyed["firstname"]])
        _put(mapping, "last_name", [keyed["lastname"]])
        _put(mapping, "roles", _numbered(keyed, "sysrole") + _numbered(keyed, "role"))
        _put(mapping, "groups", _numbered(keyed, "cohort"))
        _put(mapping, "external_id", _first(keyed, "idnumber", "username"))
    else:
        template = {_key(h): h for h in TEMPLATE_HEADERS}
        known = keys & set(template)
        has_name = "name" in known or "firstname" in known or "lastname" in known
        if "email" not in known or not has_name or (keys - known and len(known) < 5):
            return None  # extra columns are fine next to most of the template's, not next to two or three
        code = "taji"
        for field in TEMPLATE_HEADERS:
            _put(mapping, field, _first(keyed, _key(field)))
    return DetectedFormat(code=code, label=format_label(code), mapping=mapping)


# --- guessing a mapping --------------------------------------------------------------------------------------------

_FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": _words(
        "email emails mail emailaddress emailid primaryemail workemail studentemail useremail courriel "
        "adressecourriel adresseemail adressemail adresseelectronique baruapepe anwaniyabaruapepe barua"
    ),
    "name": _words(
        "name fullname displayname studentname learnername nomcomplet nometprenom nomprenom prenometnom "
        "prenomnom nomsetprenoms nomdeleleve nomdelapprenant learnersname studentsname pupilname jina jinakamili "
        "majina jinalamwanafunzi"
    ),
    "first_name": _words("firstname givenname forename first prenom prenoms jinalakwanza jinalamwanzo"),
    "last_name": _words("lastname surname familyname last nom nomdefamille jinalamwisho jinalaukoo ukoo"),
    "roles": _words("role roles usertype accounttype profile profil fonction statut jukumu majukumu wadhifa cheo"),
    "groups": _words(
        "group groups class classes classname team teams cohort cohorts section department stream form "
        "groupe groupes classe equipe equipes departement service darasa madarasa kikundi vikundi timu "
        "idara mkondo orgunitpath"
    ),
    "parent_email": _words(
        "parentemail guardianemail parentsemail emailparent emailparents emaildesparents emaildututeur "
        "courrielparent courrieldesparents courrieldututeur baruapepeyamzazi baruapepeyamlezi "
        "emailyamzazi parentcontact parentmail"
    ),
    "external_id": _words(
        "externalid id userid studentid employeeid staffid personid sisid identifier idnumber sourcedid "
        "matricule numeromatricule numeroeleve numerodeleve identifiant admissionnumber admissionno admno "
        "registrationnumber regno nambayausajili nambayamwanafunzi namba nambari"
    ),
}
_SYNONYM_FIELD: dict[str, str] = {word: field for field, words in _FIELD_SYNONYMS.items() for word in words}
_PARENT_HINTS = ("parent", "guardian", "tuteur", "mzazi", "wazazi", "mlezi", "mother", "father", "mere", "pere")
_EMAIL_HINTS = ("email", "mail", "courriel", "baruapepe")


def _score(field: str, key: str) -> float:
    """How well a header key fits a field: 3 a known synonym, down to 1.5 for a longer synonym inside it."""
    if not key:
        return 0.0
    if _SYNONYM_FIELD.get(key) == field:
        return 3.0
    is_parent = any(hint in key for hint in _PARENT_HINTS)
    has_email = any(hint in key for hint in _EMAIL_HINTS)
    if field == "parent_email":
        return 2.5 if is_parent and has_email else 0.0
    if is_parent:
        return 0.0  # "Parent name", "Parent phone": never the learner's own columns
    if field == "email" and has_email:
        return 2.0
    if difflib.get_close_matches(key, _FIELD_SYNONYMS[field], n=1, cutoff=0.8):
        return 1.75  # a typo: "Emial", "Frist name"
    if any(len(word) >= 5 and word in key for word in _FIELD_SYNONYMS[field]):
        return 1.5  # "Student email address", "Class name"
    return 0.0


def guess_mapping(headers: Sequence[str]) -> dict[str, str | None]:
    """A suggested header for every field of :data:`FIELDS` (``None`` when nothing fits); each header used once."""
    candidates = []
    for position, header in enumerate(headers):
        key = _key(header)
        for field in FIELD_NAMES:
            score = _score(field, key)
            if score:
                candidates.append((-score, position, FIELD_NAMES.index(field), field, header))
    candidates.sort()
    guess: dict[str, str | None] = dict.fromkeys(FIELD_NAMES)
    used: set[str] = set()
    for *_rank, field, header in candidates:
        if guess[field] is None and header not in used:
            guess[field] = header
            used.add(header)
    return guess


# --- mapping checks ------------------------------------------------------------------------------------------------


class MappingError(RosterFileError):
    """The mapping names no email or name column, or a column the table does not have."""


def _columns(value: str | Sequence[str] | None) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [v for v in value if v]


def check_mapping(mapping: MappingLike, headers: Sequence[str]) -> list[str]:
    """Translated problems with a (hand-made) mapping; empty when :func:`normalize` can use it."""
    problems = []
    unknown_fields = sorted(set(mapping) - set(FIELD_NAMES))
    if unknown_fields:
        problems.append(_('Unknown field: "%(field)s".') % {"field": unknown_fields[0]})
    present = set(headers)
    for field in FIELD_NAMES:
        for column in _columns(mapping.get(field)):
            if column not in present:
                problems.append(_('The file has no column "%(column)s".') % {"column": column})
    if not _columns(mapping.get("email")):
        problems.append(_("Choose the column that holds the email addresses."))
    if not any(_columns(mapping.get(field)) for field in ("name", "first_name", "last_name")):
        problems.append(_("Choose the column with the full names, or the columns with first and last names."))
    return problems


# --- rows ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RosterRow:
    line: int  # where the row is in the file (1-based; the header is line 1)
    email: str  # lower-cased and stripped; as written when invalid, "" when missing
    name: str
    roles: tuple[str, ...]  # canonical roles (see ROLES), in that order
    groups: tuple[str, ...]
    parent_email: str | None
    external_id: str | None
    skip: bool  # the source marks the person deleted/suspended: not imported (never an error)
    errors: tuple[str, ...]  # translated, for the preview and the error report


# Rows whose status column says the person is gone: Canvas users.csv (active/deleted, newer: suspended),
# OneRoster (active/tobedeleted; 1.0 called it "inactive"), Google Workspace (Active/Suspended).
_SKIP_STATUS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "canvas": (("status",), frozenset({"deleted", "suspended"})),
    "oneroster": (("status",), frozenset({"tobedeleted", "inactive"})),
    "google": (("status", "newstatus"), frozenset({"suspended", "archived"})),
}
_ROLE_SPLIT = re.compile(r"[;|,]")
_GROUP_SPLIT = re.compile(r"[;|]")
_SPACES = re.compile(r"\s+")


# A plain ASCII address: dot-atom local part (a subset of what RFC 5322 allows) and a domain checked separately.
_PLAIN_EMAIL = re.compile(r"([A-Za-z0-9_%+'-]+(?:\.[A-Za-z0-9_%+'-]+)*)@([A-Za-z0-9.-]+)")


@lru_cache(maxsize=4096)
def _full_check(raw: str) -> str | None:
    # The same rules as accounts.service.normalize_email, so a row that passes here is accepted there.
    try:
        info = validate_email(raw, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return None
    if "." not in info.domain:
        return None
    return info.normalized.lower()


def valid_email(raw: str) -> str | None:
    """The address as stored (normalized by email-validator, lower-cased), or ``None`` when it is not valid.

    email-validator spends most of its time on the domain, which a roster repeats on every row: a plain ASCII
    address has its domain checked once (cached) and its local part by a regular expression that accepts only
    what email-validator accepts and leaves unchanged; anything else gets the full check.
    """
    plain = _PLAIN_EMAIL.fullmatch(raw)
    if plain is None or len(plain.group(1)) > 64 or len(raw) > 254:
        return _full_check(raw)
    domain = _full_check("x@" + plain.group(2))
    if domain is None:
        return None
    return plain.group(1).lower() + domain[1:]


def _group_name(value: str) -> str:
    """A group value; a path such as ``/Students/Form 2`` (a Google org unit) gives its last part."""
    value = value.strip()
    if value.startswith("/"):
        value = value.rstrip("/").rsplit("/", 1)[-1]
    return _SPACES.sub(" ", value).strip()


def _role_error(word: str) -> str:
    return _('Unknown role "%(role)s". Use one of: %(roles)s.') % {
        "role": word,
        "roles": ", ".join(ACCEPTED_ROLE_WORDS),
    }


def normalize(
    table: Table, mapping: MappingLike, fmt_code: str | None, default_role: str = "student"
) -> list[RosterRow]:
    """Every row of ``table`` as a :class:`RosterRow` with its errors (empty list for an empty table).

    ``fmt_code`` is the detected format's code (``None`` after a hand-made mapping); it decides which status
    values mark a row ``skip`` and, for OneRoster, links students to the parents listed in ``agentSourcedIds``.
    Raises :class:`MappingError` when the mapping cannot be used (see :func:`check_mapping`).
    """
    if default_role not in ROLES:
        raise ValueError(f"unknown default role {default_role!r}")
    problems = check_mapping(mapping, table.headers)
    if problems:
        raise MappingError(problems[0])
    index = {header: i for i, header in enumerate(table.headers)}
    cols = {field: [index[c] for c in _columns(mapping.get(field))] for field in FIELD_NAMES}
    keyed = {_key(h): i for i, h in reversed(list(enumerate(table.headers)))}
    status_cols: list[int] = []
    skip_values: frozenset[str] = frozenset()
    if fmt_code in _SKIP_STATUS:
        status_keys, skip_values = _SKIP_STATUS[fmt_code]
        status_cols = [keyed[k] for k in status_keys if k in keyed]

    role_order = {role: i for i, role in enumerate(ROLES)}
    rows: list[RosterRow] = []
    for line, values in zip(table.lines, table.rows, strict=True):

        def first(field: str, values: list[str] = values) -> str:
            for i in cols[field]:
                if values[i]:
                    return values[i]
            return ""

        name = first("name") or " ".join(part for part in (first("first_name"), first("last_name")) if part)
        name = _SPACES.sub(" ", name).strip()
        if any(_key(values[i]) in skip_values for i in status_cols):  # shown in the preview, never validated
            email = (valid_email(first("email")) or first("email")).lower()
            rows.append(RosterRow(line, email, name, (), (), None, first("external_id") or None, True, ()))
            continue
        errors: list[str] = []

        emails = [values[i] for i in cols["email"] if values[i]]
        raw_email = next((e for e in emails if "@" in e), emails[0] if emails else "")
        email = raw_email.lower()
        if not raw_email:
            errors.append(_("The email address is missing."))
        else:
            valid = valid_email(raw_email)
            if valid is None:
                errors.append(_('"%(email)s" is not a valid email address.') % {"email": raw_email})
            else:
                email = valid

        if not name:
            errors.append(_("The name is missing."))
        elif len(name) > NAME_MAX:
            errors.append(_("The name is longer than %(n)d characters.") % {"n": NAME_MAX})

        found_roles: set[str] = set()
        words = [w.strip() for i in cols["roles"] for w in _ROLE_SPLIT.split(values[i]) if w.strip()]
        if fmt_code == "moodle":
            words = [w for w in words if not w.startswith("-")]  # Moodle's "-manager" takes a role away
        for word in words:
            role = role_of(word)
            if role is None:
                errors.append(_role_error(word))
            else:
                found_roles.add(role)
        if not words:
            found_roles.add(default_role)
        roles = tuple(sorted(found_roles, key=role_order.__getitem__))

        groups: list[str] = []
        seen_groups: set[str] = set()
        for i in cols["groups"]:
            for part in _GROUP_SPLIT.split(values[i]):
                group = _group_name(part)
                if not group or group.casefold() in seen_groups:
                    continue
                if len(group) > GROUP_NAME_MAX:
                    errors.append(_("A group name is longer than %(n)d characters.") % {"n": GROUP_NAME_MAX})
                    continue
                seen_groups.add(group.casefold())
                groups.append(group)

        parent_email: str | None = None
        raw_parent = first("parent_email")
        if raw_parent:
            parent_email = valid_email(raw_parent)
            if parent_email is None:
                parent_email = raw_parent.lower()
                errors.append(_('The parent email "%(email)s" is not a valid email address.') % {"email": raw_parent})
            elif parent_email == email:
                errors.append(_("The parent email is the person's own email address."))

        external_id = first("external_id") or None
        if external_id is not None and len(external_id) > EXTERNAL_ID_MAX:
            errors.append(_("The external id is longer than %(n)d characters.") % {"n": EXTERNAL_ID_MAX})

        rows.append(RosterRow(line, email, name, roles, tuple(groups), parent_email, external_id, False, tuple(errors)))

    if fmt_code == "oneroster":
        rows = _link_oneroster_parents(table, rows, keyed)
    return rows


def _link_oneroster_parents(table: Table, rows: list[RosterRow], keyed: dict[str, int]) -> list[RosterRow]:
    """OneRoster lists a student's parents/guardians by sourcedId in ``agentSourcedIds``: use the first one that
    is a parent row of the same file with a valid email as the student's parent email."""
    agents_col, id_col = keyed.get("agentsourcedids"), keyed.get("sourcedid")
    if agents_col is None or id_col is None:
        return rows
    parents: dict[str, str] = {}
    for values, row in zip(table.rows, rows, strict=True):
        if "parent" in row.roles and not row.skip and not row.errors and values[id_col]:
            parents[values[id_col]] = row.email
    if not parents:
        return rows
    linked = []
    for values, row in zip(table.rows, rows, strict=True):
        if "student" in row.roles and row.parent_email is None and not row.skip:
            for agent in re.split(r"[,;\s]+", values[agents_col]):
                parent = parents.get(agent)
                if parent and parent != row.email:
                    row = dataclasses.replace(row, parent_email=parent)
                    break
        linked.append(row)
    return linked


def duplicates(rows: Iterable[RosterRow]) -> list[RosterRow]:
    """The rows again, with an error on each one whose email or external id repeats an earlier row's (skipped
    rows take no part). Email addresses compare as normalized; external ids exactly."""
    by_email: dict[str, int] = {}
    by_external_id: dict[str, int] = {}
    result = []
    for row in rows:
        if row.skip:
            result.append(row)
            continue
        extra: list[str] = []
        if row.email:
            if row.email in by_email:
                extra.append(_("Duplicate of line %(line)d (same email address).") % {"line": by_email[row.email]})
            else:
                by_email[row.email] = row.line
        if row.external_id:
            if row.external_id in by_external_id:
                extra.append(
                    _("Duplicate of line %(line)d (same external id).") % {"line": by_external_id[row.external_id]}
                )
            else:
                by_external_id[row.external_id] = row.line
        result.append(dataclasses.replace(row, errors=row.errors + tuple(extra)) if extra else row)
    return result
