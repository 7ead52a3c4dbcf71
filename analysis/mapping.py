"""Match a user's column names and group labels to the data contract, and save the match.

Services export the same things under many names: ``PHQ9 Start``, ``Client ID``, ``Arm``,
``GAD-7 (end of treatment)``. This module suggests, for each column in an uploaded file, the
contract column it most likely holds (:func:`suggest_columns`), and for each group label the
group it most likely means (:func:`suggest_groups`: ``Exercise`` -> physical_activity,
``TAU`` -> control). The person uploading confirms or changes the suggestions; nothing here
changes data (:func:`analysis.validate.apply_mapping` applies a confirmed mapping).

How a column is matched, best first (each contract column is given to one file column only,
the best-scoring pair first):

1. the same name after normalising (capitals, spaces, hyphens, ``camelCase``): ``PHQ9 First``;
2. a recognised measure plus a time point: ``PHQ-9 start``, ``Baseline GAD7``, ``WSAS end``;
3. a listed synonym: ``Client ID``, ``Arm``, ``Sessions attended``, ``Sex``;
4. a close spelling of a name or synonym (:class:`difflib.SequenceMatcher` ratio >= 0.8).

A column whose name suggests it identifies people (``NHS number``, ``Surname``) is never
suggested for anything: validation refuses such files anyway.

A confirmed mapping can be saved as a small JSON file (:func:`mapping_to_json`) and read back
next time (:func:`mapping_from_json`); it holds only column names and group labels, never data.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

import pandas as pd

from analysis import schema
from analysis.validate import IDENTIFYING_NAME_FRAGMENTS

__all__ = [
    "LEVELS",
    "MAPPING_FORMAT",
    "ColumnSuggestion",
    "MappingFileError",
    "SavedMapping",
    "blank_template",
    "column_suggestions",
    "guess_level",
    "mapping_for_columns",
    "mapping_from_choices",
    "mapping_from_json",
    "mapping_to_json",
    "normalise_name",
    "required_targets",
    "suggest_columns",
    "suggest_group",
    "suggest_groups",
    "suggested_mapping",
    "targets",
    "unrecognised_labels",
]

LEVELS: Final = ("episode", "session")
MAPPING_FORMAT: Final = "pa-talking-therapies-column-mapping"
MAPPING_VERSION: Final = 1
MAX_MAPPING_BYTES: Final = 100_000
# Optional subgroup columns offered as targets (``baseline_severity`` is derived, not uploaded).
SUBGROUP_TARGETS: Final = tuple(c for c in schema.KNOWN_SUBGROUP_COLUMNS if c != "baseline_severity")

_EPISODE_TARGETS: Final = (*(c.name for c in schema.EPISODE_COLUMNS), *SUBGROUP_TARGETS)
_SESSION_TARGETS: Final = (*(c.name for c in schema.SESSION_COLUMNS), "pa_sessions", *SUBGROUP_TARGETS)

# --- words ------------------------------------------------------------------------------------

# Words that carry no meaning for matching ("PHQ-9 total score" is "phq9").
_FILLER: Final = frozenset({"score", "scores", "total", "the", "of", "at", "and", "value", "values", "result",
                            "results", "sum", "raw", "item", "overall", "level", "tx", "treatment", "therapy"})
_FIRST_WORDS: Final = frozenset({"first", "start", "starting", "baseline", "base", "bl", "pre", "initial", "intake",
                                 "begin", "beginning", "entry", "t0", "admission", "referral", "screening",
                                 "before", "pretreatment", "1st", "assessment", "init", "earliest"})
_LAST_WORDS: Final = frozenset({"last", "end", "ending", "final", "post", "discharge", "exit", "latest", "after",
                                "closing", "close", "closure", "finish", "posttreatment", "recent", "outcome",
                                "lastavailable"})
# Tokens naming each measure (after normalising "PHQ 9"/"PHQ-9" to "phq9").
_MEASURE_WORDS: Final = {
    "phq9": frozenset({"phq9", "phq", "depression", "dep"}),
    "gad7": frozenset({"gad7", "gad", "anxiety", "anx"}),
    "wsas": frozenset({"wsas"}),
    "adsm": frozenset({"adsm", "spin", "pcl5", "pdss", "hai", "shai", "oci", "ocir"}),
}
# A column with one of these words names *which* measure, not a score ("ADSM measure").
_NOT_A_SCORE: Final = frozenset({"measure", "type", "name", "code", "tool", "questionnaire", "used", "which", "kind"})

_SYNONYMS: Final[dict[str, tuple[str, ...]]] = {
    "participant_id": ("participant id", "participant", "participant number", "participant no", "participant ref",
                       "client id", "client", "client ref", "client reference", "client number", "patient id",
                       "id", "pid", "study id", "person id", "service user id", "su id", "user id", "record id",
                       "pseudo id", "pseudonym", "pseudonymised id", "pseudonymous id", "case id", "case number",
                       "case ref", "subject id", "subject", "respondent id", "referral id", "episode id",
                       "anon id", "anonymised id", "unique id", "identifier", "local id", "ref"),
    "group": ("group", "arm", "study arm", "trial arm", "treatment arm", "condition", "allocation",
              "allocated group", "group allocation", "treatment group", "intervention group", "cohort",
              "randomisation", "randomization", "intervention", "pathway", "pa group", "study group",
              "allocated arm", "arm allocation", "allocated to", "randomised to", "randomized to", "study condition"),
    "treatment_sessions": ("sessions", "treatment sessions", "sessions attended", "number of sessions",
                           "no sessions", "num sessions", "n sessions", "total sessions", "therapy sessions",
                           "appointments", "appointments attended", "attended sessions", "attended appointments",
                           "treatment appointments", "session count", "sessions count", "count of sessions",
                           "contacts", "treatment contacts", "attended", "number of appointments"),
    "pa_sessions": ("pa sessions", "physical activity sessions", "exercise sessions", "activity sessions",
                    "pa sessions attended", "exercise sessions attended", "gym sessions", "pa attendance",
                    "physical activity attended", "number of pa sessions", "pa attended", "exercise attended"),
    "session_number": ("session number", "session", "session no", "session num", "session n", "session index",
                       "session order", "session id", "appointment number", "appointment no", "appointment",
                       "visit", "visit number", "contact number", "session seq", "sequence"),
    "session_date": ("session date", "date", "appointment date", "visit date", "contact date", "date of session",
                     "date of appointment", "date seen", "attendance date", "appt date"),
    "adsm_measure": ("adsm measure", "adsm", "adsm type", "adsm name", "adsm used", "adsm code", "adsm tool",
                     "anxiety measure", "anxiety disorder measure", "anxiety disorder specific measure",
                     "specific measure", "disorder specific measure", "anxiety questionnaire"),
    "phq9": ("phq9", "depression"),
    "gad7": ("gad7", "anxiety"),
    "wsas": ("wsas", "work and social adjustment", "work social adjustment"),
    "adsm": ("adsm", "anxiety disorder specific"),
    "site": ("site", "site name", "site id", "site code", "service", "service name", "clinic", "centre",
             "center", "location", "venue", "provider", "trust", "locality", "hub", "team", "area", "borough"),
    "age_band": ("age band", "age group", "age range", "age category", "ageband", "age", "age bracket"),
    "gender": ("gender", "sex", "gender identity"),
    "ethnicity": ("ethnicity", "ethnic group", "ethnic origin", "ethnic category", "ethnic background", "ethnic"),
    "ltc": ("ltc", "long term condition", "long term conditions", "long term health condition", "chronic condition",
            "ltc flag", "has ltc", "ltc status"),
    "problem_descriptor": ("problem descriptor", "presenting problem", "primary problem", "diagnosis",
                           "problem", "primary diagnosis", "provisional diagnosis", "problem type",
                           "presenting complaint", "primary presenting problem"),
}

_SCORE_SAME: Final = 1.0
_SCORE_CONCEPT: Final = 0.95
_SCORE_SYNONYM: Final = 0.9
_SIMILARITY_CUTOFF: Final = 0.85
_SIMILARITY_WEIGHT: Final = 0.8

# --- group labels ----------------------------------------------------------------------------

_PA_PHRASES: Final = frozenset({"physical activity", "pa", "exercise", "intervention", "active", "activity",
                                "pa group", "exercise group", "intervention group", "physical activity group",
                                "sport", "pa tt", "pa plus tt", "tt pa", "tt plus pa", "walking", "gym",
                                "movement", "experimental", "exp", "pa arm", "exercise arm", "intervention arm",
                                "physically active", "exercise referral"})
_CONTROL_PHRASES: Final = frozenset({"control", "tau", "treatment as usual", "usual care", "usual treatment",
                                     "standard care", "standard treatment", "comparison", "comparator",
                                     "control group", "waitlist", "wait list", "waiting list", "tt only",
                                     "therapy only", "talking therapy only", "talking therapies only", "cbt only",
                                     "usual", "standard", "control arm", "usual care group", "no intervention"})
_PA_TOKENS: Final = frozenset({"exercise", "activity", "active", "intervention", "pa", "sport", "gym", "walking",
                               "experimental", "physical"})
_CONTROL_TOKENS: Final = frozenset({"control", "tau", "usual", "standard", "comparison", "comparator", "waitlist",
                                    "waiting", "only"})
_NEGATIONS: Final = frozenset({"no", "non", "not", "without"})


# --- normalising ------------------------------------------------------------------------------


def normalise_name(name: object) -> str:
    """A column name or label as lower-case words: ``"PHQ-9 Start"`` -> ``"phq9 start"``.

    Splits ``camelCase`` and letters from trailing words (``phq9First`` -> ``phq9 first``),
    joins the measure numbers (``PHQ 9``/``PHQ-9`` -> ``phq9``, ``PCL-5`` -> ``pcl5``) and
    turns every other non-alphanumeric run into one space.

    Examples
    --------
    >>> [normalise_name(n) for n in ("PHQ-9 Start", "clientID", "GAD_7_end", "phq9First")]
    ['phq9 start', 'client id', 'gad7 end', 'phq9 first']
    """
    text = str(name).replace("\ufeff", "").strip()
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    text = text.lower()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    text = re.sub(r"\b(phq|gad|pcl)\s+(9|7|5)\b", r"\1\2", text)
    text = re.sub(r"(\d)([a-z])", r"\1 \2", text)
    text = re.sub(r"\b1 st\b", "1st", text)
    return " ".join(text.split())


def _key(name: object) -> str:
    """The normalised name without filler words (``"PHQ-9 total score"`` -> ``"phq9"``)."""
    words = normalise_name(name).split()
    kept = [w for w in words if w not in _FILLER]
    return " ".join(kept or words)


def _looks_identifying(name: object) -> bool:
    compact = re.sub(r"[^a-z0-9]", "", str(name).lower())
    return compact in schema.IDENTIFYING_COLUMN_NAMES or any(f in compact for f in IDENTIFYING_NAME_FRAGMENTS)


# --- targets ---------------------------------------------------------------------------------


def targets(level: str) -> tuple[str, ...]:
    """Contract columns a file of this level can map to (the contract's, then known subgroups).

    Examples
    --------
    >>> targets("episode")[:3]
    ('participant_id', 'group', 'phq9_first')
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    return _EPISODE_TARGETS if level == "episode" else _SESSION_TARGETS


def required_targets(level: str) -> tuple[str, ...]:
    """Columns validation requires at this level (session: plus session_number or session_date).

    Examples
    --------
    >>> required_targets("session")
    ('participant_id', 'group', 'phq9', 'gad7')
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    return schema.REQUIRED_EPISODE_COLUMNS if level == "episode" else schema.REQUIRED_SESSION_COLUMNS


# --- column suggestions -----------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSuggestion:
    """The suggested contract column for one file column.

    ``score`` is 1.0 for the same name, 0.95 for a measure plus time point, 0.9 for a listed
    synonym and 0.8 × the spelling similarity otherwise; ``target`` is None (and ``score`` 0)
    when nothing fits. ``reason`` says why, in words.
    """

    column: str
    target: str | None
    score: float
    reason: str


def _concept(key: str) -> tuple[str | None, str | None]:
    """(measure, time point) named by a normalised key, e.g. ('phq9', 'first')."""
    words = set(key.split())
    if words & _NOT_A_SCORE:
        return None, None
    measures = [m for m, names in _MEASURE_WORDS.items() if words & names]
    if "work" in words and ("social" in words or "adjustment" in words):
        measures.append("wsas")
    if len(set(measures)) != 1:
        return None, None
    first, last = bool(words & _FIRST_WORDS), bool(words & _LAST_WORDS)
    time = "first" if first and not last else "last" if last and not first else None
    return measures[0], time


def _candidates(column: str, allowed: Sequence[str]) -> list[tuple[float, str, str]]:
    """(score, target, reason) for every target this column could be."""
    key = _key(column)
    plain = normalise_name(column)
    out: list[tuple[float, str, str]] = []
    measure, time = _concept(key)
    for target in allowed:
        target_key = normalise_name(target)
        if plain == target_key or key == target_key:
            out.append((_SCORE_SAME, target, "same name"))
            continue
        if measure is not None:
            wanted = f"{measure}_{time}" if time else measure
            if target == wanted:
                label = schema.EPISODE_MEASURES.get(measure)
                what = label.label if label else "ADSM"
                when = {"first": " at the first assessment", "last": " (last available score)"}.get(time or "", "")
                out.append((_SCORE_CONCEPT, target, f"recognised as {what}{when}"))
                continue
        synonyms = [_key(s) for s in _SYNONYMS.get(target, ())]
        if key in synonyms:
            out.append((_SCORE_SYNONYM, target, "a common name for this column"))
            continue
        best = max((difflib.SequenceMatcher(None, key, s).ratio() for s in [target_key, *synonyms]), default=0.0)
        if best >= _SIMILARITY_CUTOFF:
            out.append((_SIMILARITY_WEIGHT * best, target, "similar spelling"))
    return out


def column_suggestions(columns: Sequence[object], level: str | None = None) -> list[ColumnSuggestion]:
    """For each file column (in file order), its most likely contract column.

    Each contract column is suggested for at most one file column: pairs are taken best score
    first (ties: file order), so ``phq9_first`` goes to ``PHQ9 First`` rather than to a looser
    ``PHQ start`` further along. ``level`` defaults to :func:`guess_level`.

    Examples
    --------
    >>> [(s.column, s.target) for s in column_suggestions(["Client ID", "Arm", "PHQ9 Start", "Notes"])]
    [('Client ID', 'participant_id'), ('Arm', 'group'), ('PHQ9 Start', 'phq9_first'), ('Notes', None)]
    """
    names = [str(c) for c in columns]
    level = level or guess_level(names)
    allowed = targets(level)
    pairs: list[tuple[float, int, str, str]] = []
    for position, column in enumerate(names):
        if _looks_identifying(column):
            continue
        pairs.extend((score, position, target, reason) for score, target, reason in _candidates(column, allowed))
    pairs.sort(key=lambda p: (-p[0], p[1], allowed.index(p[2])))
    chosen: dict[int, tuple[str, float, str]] = {}
    used: set[str] = set()
    for score, position, target, reason in pairs:
        if position in chosen or target in used:
            continue
        chosen[position] = (target, score, reason)
        used.add(target)
    out = []
    for position, column in enumerate(names):
        if position in chosen:
            target, score, reason = chosen[position]
            out.append(ColumnSuggestion(column, target, round(score, 3), reason))
        elif _looks_identifying(column):
            out.append(ColumnSuggestion(column, None, 0.0, "looks like it identifies people: never used"))
        else:
            out.append(ColumnSuggestion(column, None, 0.0, "no likely match"))
    return out


def suggest_columns(columns: Sequence[object], level: str | None = None) -> dict[str, str | None]:
    """``{file column: contract column or None}``; see :func:`column_suggestions`.

    Examples
    --------
    >>> suggest_columns(["Client ID", "Arm", "PHQ9 Start", "PHQ9 End", "GAD7 Start", "GAD7 End"])
    ... # doctest: +NORMALIZE_WHITESPACE
    {'Client ID': 'participant_id', 'Arm': 'group', 'PHQ9 Start': 'phq9_first', 'PHQ9 End': 'phq9_last',
     'GAD7 Start': 'gad7_first', 'GAD7 End': 'gad7_last'}
    """
    return {s.column: s.target for s in column_suggestions(columns, level)}


def guess_level(columns: Iterable[object]) -> str:
    """``"session"`` when the columns look like one row per session, else ``"episode"``.

    Rule: session level when, matched against the session-level contract, the columns include
    a session number or date and a bare PHQ-9 or GAD-7 score (no time point), as
    :func:`analysis.io.detect_level` decides for contract names.

    Examples
    --------
    >>> guess_level(["Client", "Arm", "Appointment date", "PHQ-9", "GAD-7"])
    'session'
    >>> guess_level(["Client", "Arm", "PHQ9 start", "PHQ9 end"])
    'episode'
    """
    names = [str(c) for c in columns]
    found: set[str] = set()
    for column in names:
        if _looks_identifying(column):
            continue
        found.update(target for score, target, _ in _candidates(column, _SESSION_TARGETS) if score >= _SCORE_SYNONYM)
    has_order = bool(found & {"session_number", "session_date"})
    has_score = bool(found & {"phq9", "gad7"})
    return "session" if has_order and has_score else "episode"


# --- group labels ---------------------------------------------------------------------------


def suggest_group(label: object) -> str | None:
    """The group a label most likely means, or None when unsure.

    Accepted labels first (``physical_activity``, ``PA``, ``control``, any capitals); then
    listed phrases (``Exercise``, ``Intervention`` -> physical_activity; ``TAU``,
    ``Usual care``, ``Waiting list`` -> control); a negated activity word (``No exercise``,
    ``non-PA``) means control; then single telling words; then a close spelling. A label with
    words of both kinds, or a code such as ``1``/``A``, gets None: the person uploading decides.

    Examples
    --------
    >>> [suggest_group(x) for x in ("Exercise", "TAU", "Usual care", "no exercise", "PA", "1")]
    ['physical_activity', 'control', 'control', 'control', 'physical_activity', None]
    """
    if label is None or (isinstance(label, float) and label != label):
        return None
    accepted = schema.normalise_group(label)
    if accepted is not None:
        return accepted
    key = normalise_name(label)
    if not key:
        return None
    if key in _CONTROL_PHRASES:
        return schema.GROUP_CONTROL
    if key in _PA_PHRASES:
        return schema.GROUP_PA
    words = set(key.split())
    pa_hit, control_hit = bool(words & _PA_TOKENS), bool(words & _CONTROL_TOKENS)
    if pa_hit and words & _NEGATIONS:
        return schema.GROUP_CONTROL
    if pa_hit != control_hit:
        return schema.GROUP_PA if pa_hit else schema.GROUP_CONTROL
    if pa_hit and control_hit:
        return None
    if len(key) < 4:
        return None
    close_pa = difflib.get_close_matches(key, sorted(_PA_PHRASES), n=1, cutoff=0.85)
    close_control = difflib.get_close_matches(key, sorted(_CONTROL_PHRASES), n=1, cutoff=0.85)
    if bool(close_pa) != bool(close_control):
        return schema.GROUP_PA if close_pa else schema.GROUP_CONTROL
    return None


def suggest_groups(labels: Iterable[object]) -> dict[str, str | None]:
    """``{label: group or None}`` for each distinct label (trimmed; blanks skipped), in first-seen order.

    Examples
    --------
    >>> suggest_groups(["Exercise", "TAU", " Exercise ", ""])
    {'Exercise': 'physical_activity', 'TAU': 'control'}
    """
    out: dict[str, str | None] = {}
    for label in labels:
        if label is None or (isinstance(label, float) and label != label):
            continue
        text = str(label).strip()
        if text and text not in out:
            out[text] = suggest_group(text)
    return out


def unrecognised_labels(values: pd.Series, limit: int = 30) -> list[str] | None:
    """Distinct group labels (trimmed, blanks skipped, first-seen order) that validation does not
    accept as they are, or None when there are more than ``limit`` of them (the column chosen is
    probably not the group column).

    Examples
    --------
    >>> unrecognised_labels(pd.Series(["Exercise", "control", "TAU", None, "Exercise "]))
    ['Exercise', 'TAU']
    """
    seen: dict[str, None] = {}
    for value in pd.unique(values.dropna().astype(str).str.strip()):
        if value and schema.normalise_group(value) is None and value not in seen:
            seen[value] = None
            if len(seen) > limit:
                return None
    return list(seen)


# --- saved mappings --------------------------------------------------------------------------


class MappingFileError(ValueError):
    """A mapping file that cannot be used; the message says why in plain English."""


@dataclass(frozen=True)
class SavedMapping:
    """A confirmed mapping: file column -> contract column, group label -> group.

    Only names and labels, never data. ``level`` records the layout it was made for.
    """

    columns: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    level: str | None = None

    @property
    def empty(self) -> bool:
        return not self.columns and not self.groups


def _check_mapping(columns: dict[str, str], groups: dict[str, str], level: str | None) -> None:
    if level is not None and level not in LEVELS:
        raise MappingFileError(f"The layout must be 'episode' or 'session', not '{level}'.")
    known = set(_EPISODE_TARGETS) | set(_SESSION_TARGETS)
    for source, target in columns.items():
        if target not in known:
            raise MappingFileError(f"'{target}' is not a column the dashboard knows (mapped from '{source}').")
    repeated = sorted({t for t in columns.values() if list(columns.values()).count(t) > 1})
    if repeated:
        raise MappingFileError(f"More than one column is mapped to {', '.join(repeated)}.")
    for label, group in groups.items():
        if group not in schema.GROUPS:
            raise MappingFileError(f"The group label '{label}' must map to physical_activity or control, "
                                   f"not '{group}'.")


def mapping_from_choices(choices: dict[str, str | None], pa_labels: Iterable[str] = (),
                         control_labels: Iterable[str] = (), level: str | None = None) -> SavedMapping:
    """The mapping a person chose: ``choices`` is contract column -> file column (None: not in the file).

    A file column already named as its contract column needs no entry. Raises
    :class:`MappingFileError` when one file column is chosen for two contract columns or one
    label for both groups.

    Examples
    --------
    >>> m = mapping_from_choices({"participant_id": "Client", "group": "Arm", "phq9_first": "phq9_first"},
    ...                          ["Exercise"], ["TAU"], "episode")
    >>> m.columns, m.groups
    ({'Client': 'participant_id', 'Arm': 'group'}, {'Exercise': 'physical_activity', 'TAU': 'control'})
    """
    used: dict[str, str] = {}
    for target, source in choices.items():
        if source is None:
            continue
        if source in used:
            raise MappingFileError(f"The column '{source}' is chosen for both {used[source]} and {target}: "
                                   "each column can hold one thing.")
        used[source] = target
    pa, control = list(dict.fromkeys(pa_labels)), list(dict.fromkeys(control_labels))
    both = [label for label in pa if label in control]
    if both:
        raise MappingFileError(f"The label '{both[0]}' is chosen for both groups.")
    columns = {source: target for source, target in used.items() if source != target}
    groups = {label: schema.GROUP_PA for label in pa} | {label: schema.GROUP_CONTROL for label in control}
    _check_mapping(columns, groups, level)
    return SavedMapping(columns=columns, groups=groups, level=level)


def mapping_to_json(mapping: SavedMapping) -> bytes:
    """The mapping as a small UTF-8 JSON file to download and upload again next time.

    Examples
    --------
    >>> mapping_from_json(mapping_to_json(SavedMapping({"Arm": "group"}, {"TAU": "control"}))).columns
    {'Arm': 'group'}
    """
    _check_mapping(mapping.columns, mapping.groups, mapping.level)
    document = {"format": MAPPING_FORMAT, "version": MAPPING_VERSION, "level": mapping.level,
                "columns": dict(mapping.columns), "groups": dict(mapping.groups)}
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")


def _string_dict(value: object, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise MappingFileError(f"'{what}' in the mapping file must be pairs of text (\"in your file\": \"in the "
                               "dashboard\").")
    return {k: v for k, v in value.items()}


def mapping_from_json(data: bytes | str) -> SavedMapping:
    """Read a mapping file made by :func:`mapping_to_json`.

    Raises
    ------
    MappingFileError : not JSON, too large (over 100 kB), not a mapping file of this
        dashboard, a newer version, or mapping to unknown columns or groups.
    """
    if isinstance(data, bytes | bytearray | memoryview):
        if len(data) > MAX_MAPPING_BYTES:
            raise MappingFileError("This file is too large to be a column mapping.")
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise MappingFileError("This is not a column mapping file (it is not UTF-8 text).") from exc
    else:
        text = data
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MappingFileError("This is not a column mapping file (it is not valid JSON).") from exc
    if not isinstance(document, dict) or document.get("format") != MAPPING_FORMAT:
        raise MappingFileError("This is not a column mapping file saved by this dashboard.")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version > MAPPING_VERSION or version < 1:
        raise MappingFileError("This mapping file was saved by a different version of the dashboard.")
    columns = _string_dict(document.get("columns"), "columns")
    groups = _string_dict(document.get("groups"), "groups")
    level = document.get("level")
    if level is not None and not isinstance(level, str):
        raise MappingFileError("The layout in the mapping file must be 'episode' or 'session'.")
    _check_mapping(columns, groups, level)
    return SavedMapping(columns=columns, groups=groups, level=level)


def mapping_for_columns(mapping: SavedMapping, columns: Sequence[object]) -> SavedMapping:
    """The part of a saved mapping that applies to a file with these columns.

    Keeps the column entries whose file column exists and is not already named as its target,
    and drops an entry whose target is already a column of the file that is not being renamed
    (it would clash). Group labels are kept as they are (labels not in the file do nothing).

    Examples
    --------
    >>> mapping_for_columns(SavedMapping({"Arm": "group", "Old": "phq9_first"}), ["Arm", "PHQ9"]).columns
    {'Arm': 'group'}
    """
    present = [str(c) for c in columns]
    renamed = {c for c, t in mapping.columns.items() if c in present and c != t}
    kept = {}
    for source, target in mapping.columns.items():
        if source not in present or source == target:
            continue
        if target in present and target not in renamed:
            continue
        kept[source] = target
    return SavedMapping(columns=kept, groups=dict(mapping.groups), level=mapping.level)


def suggested_mapping(frame: pd.DataFrame, level: str | None = None) -> SavedMapping:
    """The mapping the Data page offers before anyone has chosen: what the file will be checked with.

    Rules: every column :func:`suggest_columns` matches to a contract column it is not already
    named as; then, in the column that would become ``group``, every label validation does not
    accept as it is and :func:`suggest_group` is sure about (labels it is unsure about are left
    for the person to match, and validation still reports them). Nothing is applied here.

    Examples
    --------
    >>> frame = pd.DataFrame({"Client ID": ["C1", "C2"], "Arm": ["Exercise", "TAU"], "PHQ9 Start": ["9", "8"]})
    >>> m = suggested_mapping(frame, "episode")
    >>> m.columns, m.groups
    ({'Client ID': 'participant_id', 'Arm': 'group', 'PHQ9 Start': 'phq9_first'}, {'Exercise': 'physical_activity', 'TAU': 'control'})
    """
    names = [str(c) for c in frame.columns]
    level = level or guess_level(names)
    columns = {source: target for source, target in suggest_columns(names, level).items()
               if target is not None and source != target}
    group_column = next((source for source, target in columns.items() if target == "group"),
                        "group" if "group" in names else None)
    groups: dict[str, str] = {}
    if group_column is not None:
        labels = unrecognised_labels(frame[group_column]) or []
        groups = {label: group for label in labels if (group := suggest_group(label)) is not None}
    return SavedMapping(columns=columns, groups=groups, level=level)


# --- template ---------------------------------------------------------------------------------


def blank_template(level: str = "episode") -> pd.DataFrame:
    """An empty table with the contract's columns for ``level``, then the common subgroup columns.

    Examples
    --------
    >>> list(blank_template("episode").columns[:6])
    ['participant_id', 'group', 'phq9_first', 'phq9_last', 'gad7_first', 'gad7_last']
    >>> len(blank_template("session"))
    0
    """
    return pd.DataFrame({name: pd.Series([], dtype=object) for name in targets(level)})
