"""An LLM answer may name only settings that exist in a template: quoted names that match none are cut.

The system prompt asks the model to quote every setting by its exact label. A short quoted phrase that is no
template label, no option of one, and no part of a passage retrieved in the turn is taken as an invented
setting name, and the sentence carrying it is removed (with a note), so the person is never sent looking
for a switch that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import fuzz

from memory.structure import TemplateSetting, normalise_label

# Double quotes only (the prompt asks for them): single quotes collide with apostrophes ("don't ... it's").
QUOTED = re.compile(r"[\"“]([^\"“”\n]{3,80})[\"”]")
SENTENCE = re.compile(r"[^.!?\n]*[.!?]?")
MATCH_MIN = 90


def _known(settings: Iterable[TemplateSetting]) -> set[str]:
    names: set[str] = set()
    for s in settings:
        names.add(normalise_label(s.label))
        names.update(normalise_label(v) for v in s.values)
        names.update(normalise_label(o["label"]) for o in s.options)
    return names


def unknown_setting_names(text: str, settings: Iterable[TemplateSetting], passages: Iterable[str] = ()) -> list[str]:
    known = _known(settings)
    corpus = " ".join(normalise_label(p) for p in passages)
    out = []
    for phrase in QUOTED.findall(text):
        name = normalise_label(phrase)
        if not name or name in known or (corpus and name in corpus):
            continue
        if any(fuzz.ratio(name, k) >= MATCH_MIN for k in known):
            continue
        out.append(phrase)
    return out


def drop_unknown_settings(text: str, settings: Iterable[TemplateSetting],
                          passages: Iterable[str] = ()) -> tuple[str, list[str]]:
    """(text without the sentences naming unknown settings, the names removed)."""
    unknown = unknown_setting_names(text, list(settings), list(passages))
    if not unknown:
        return text, []
    kept = [s for s in SENTENCE.findall(text) if not any(name in s for name in unknown)]
    cleaned = "".join(kept).strip()
    note = "(I removed advice about a setting that is not on the platform's settings page as PrivyLoop knows it.)"
    return (f"{cleaned}\n\n{note}" if cleaned else note), unknown
