"""The policy rubric answered by transparent rules: each answer cites the passage that decided it."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, Field

from ingest.retrieval import Passage, hybrid_search
from memory.db import Conn

if TYPE_CHECKING:
    from ingest.embeddings import Embedder

RUBRIC_PATH = Path(__file__).parent / "rubric.yaml"
PASSAGES_PER_QUESTION = 3
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")


class Rule(BaseModel):
    pattern: str
    answer: str
    points: int = Field(ge=0)


class Outcome(BaseModel):
    answer: str
    points: int = Field(ge=0)


class Question(BaseModel):
    id: str
    category: str
    question: str
    query: str
    points: int = Field(gt=0)
    rules: list[Rule]
    otherwise: Outcome


class Citation(BaseModel):
    platform: str
    version: int
    document: str
    section: str
    start: int
    end: int
    quote: str
    url: str | None = None


class RubricAnswer(BaseModel):
    id: str
    category: str
    question: str
    answer: str
    points: int
    max_points: int
    citation: Citation | None = None


@lru_cache(maxsize=1)
def load_rubric() -> tuple[Question, ...]:
    return tuple(Question.model_validate(q) for q in yaml.safe_load(RUBRIC_PATH.read_text(encoding="utf-8")))


def cite(passage: Passage, match: re.Match[str]) -> Citation:
    """The sentence holding the match, with offsets into the stored document (not just the passage)."""
    for s in _SENTENCE.finditer(passage.text):
        if s.start() <= match.start() < s.end():
            a = s.start() + len(s.group()) - len(s.group().lstrip())
            b = s.end()
            break
    else:
        a, b = match.start(), match.end()
    return Citation(platform=passage.platform, version=passage.version, document=passage.document,
                    section=passage.section, start=passage.start + a, end=passage.start + b,
                    quote=passage.text[a:b], url=passage.url)


def answer(question: Question, passages: list[Passage]) -> RubricAnswer:
    """The first rule (in the rubric's order) matching any passage decides; better-ranked passages first."""
    base = {"id": question.id, "category": question.category, "question": question.question,
            "max_points": question.points}
    for rule in question.rules:
        regex = re.compile(rule.pattern, re.IGNORECASE | re.DOTALL)
        for passage in passages:
            m = regex.search(passage.text)
            if m:
                return RubricAnswer(**base, answer=rule.answer, points=rule.points, citation=cite(passage, m))
    return RubricAnswer(**base, answer=question.otherwise.answer, points=question.otherwise.points)


async def answer_rubric(conn: Conn, platform: str, embedder: Embedder,
                        version: int | None = None) -> tuple[list[RubricAnswer], dict[str, list[Passage]]]:
    """Every rubric question answered from the platform's policy, plus the passages each one read."""
    answers, evidence = [], {}
    for q in load_rubric():
        passages = await hybrid_search(conn, q.query, platform=platform, k=PASSAGES_PER_QUESTION,
                                       embedder=embedder, version=version)
        evidence[q.id] = passages
        answers.append(answer(q, passages))
    return answers, evidence


def rubric_score(answers: list[RubricAnswer]) -> dict[str, Any]:
    """0-10 overall (PrivacySpy's scale) and per category, from the points earned over points possible."""
    def score(items: list[RubricAnswer]) -> float | None:
        possible = sum(a.max_points for a in items)
        return round(10 * sum(a.points for a in items) / possible, 1) if possible else None

    categories = sorted({a.category for a in answers})
    return {"score": score(answers),
            "categories": {c: score([a for a in answers if a.category == c]) for c in categories}}

