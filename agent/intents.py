"""Recognising the common questions without an LLM, and the tool calls that answer them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from memory.structure import TemplateSetting
from tools.matching import find_platform, find_settings

EXPLAIN_MIN = 86  # a question must name a setting this clearly to be read as "explain this setting"

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("remember", re.compile(r"^\s*(please\s+)?(remember|keep in mind|note that|don'?t forget)\b|"
                            r"\bi (don'?t|do not) (mind|care about)\b|\bi only care about\b|\bi'?m (fine|ok|okay) with\b",
                            re.IGNORECASE)),
    ("scan", re.compile(r"\b(re-?scan|scan|refresh|check again|re-?check)\b", re.IGNORECASE)),
    ("fix_plan", re.compile(r"\bfix\b|\bimprove\b|\bwhat should i (do|change|turn)\b|\brecommend|\bplan\b|"
                            r"\bsteps?\b|\block (it )?down\b|\bharden\b|\bmore private\b", re.IGNORECASE)),
    ("what_changed", re.compile(r"\bwhat('?s| has| have|s)? (changed|new)\b|\bany(thing)? (changes?|new)\b|"
                                r"\bchanges?\b|\bchanged\b|\bdifferent\b", re.IGNORECASE)),
    ("score", re.compile(r"\bscore\b|\brating\b|\bhow (private|exposed|safe|secure) am i\b|\bbreakdown\b|"
                         r"\btop risks?\b", re.IGNORECASE)),
]
POLICY = re.compile(r"\bpolic(y|ies)\b|\bterms\b|\b(sell|sells|share|shares|collect|collects|retain|retention|keep|"
                    r"keeps|store|stores|train|trains|use|uses)\b.*\b(data|information|info|messages|photos|location|"
                    r"voice|conversations|chats|content)\b|\bgdpr\b|\bdelete my data\b|\bthird part", re.IGNORECASE)
EXPLAIN = re.compile(r"\bexplain\b|\bwhat (is|does|are)\b|\bwhat'?s\b|\bmeaning of\b|\btell me about\b|"
                     r"\bshould i (turn|keep|switch)\b", re.IGNORECASE)
STATE = re.compile(r"\bmy (privacy )?settings\b|\bcurrent settings\b|\boverview\b|\bstatus\b|\bhow am i doing\b|"
                   r"\bsummar", re.IGNORECASE)
HELLO = re.compile(r"^\s*(hi|hello|hey|help|what can you do)\b[\s!?.]*$", re.IGNORECASE)


@dataclass
class Plan:
    intent: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    text: str | None = None  # an answer that needs no tool (greeting, a question to ask back)


def recognise(question: str, platforms: Sequence[tuple[str, str]],
              settings: Sequence[tuple[str, TemplateSetting]]) -> Plan | None:
    """The plan for a common question, or None when it is beyond the fast path."""
    platform = find_platform(question, platforms)
    args: dict[str, Any] = {"platform": platform} if platform else {}
    if HELLO.match(question):
        return Plan("help")
    for intent, pattern in PATTERNS:
        if not pattern.search(question):
            continue
        if intent == "remember":
            return Plan(intent, [("remember", {"note": question.strip()})])
        if intent == "scan":
            if platform is None:
                return Plan(intent, text="ask_platform")
            kind = "policy" if re.search(r"\bpolic(y|ies)|terms\b", question, re.IGNORECASE) else "settings"
            return Plan(intent, [("request_scan", {"platform": platform, "kind": kind})])
        if intent == "what_changed":
            last = bool(re.search(r"\blast (visit|time)\b|\bsince i (last|was)\b", question, re.IGNORECASE))
            return Plan(intent, [("what_changed", {**args, "since_last_visit": last})])
        if intent == "fix_plan":
            return Plan(intent, [("fix_plan", args)])
        return Plan(intent, [("privacy_score", args)])
    pool = [(p, s) for p, s in settings if platform is None or p == platform]
    named = find_settings(question, pool, minimum=EXPLAIN_MIN)
    if named and not POLICY.search(question):
        return Plan("explain", [("explain_setting", {"setting": named[0].setting.label,
                                                     "platform": named[0].platform})])
    if POLICY.search(question):
        return Plan("policy", [("search_policy", {"query": question.strip(), **args})])
    if EXPLAIN.search(question) and len(question.split()) <= 12:
        return Plan("explain", [("explain_setting", {"setting": question.strip(), **args})])
    if STATE.search(question):
        return Plan("state", [("privacy_state", args)])
    return None


def overview(platform: str | None) -> Plan:
    """What a fallback answer shows when the LLM is unavailable: grounded facts, never a guess."""
    args = {"platform": platform} if platform else {}
    return Plan("overview", [("what_changed", args), ("privacy_score", args)])
