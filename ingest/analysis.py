"""Template analysis, once per template version: rubric answers, explanations, weights, recommendations.

The inputs (template structure, latest policy text, model) are hashed; an analysis with the same hash is
never recomputed, so re-ingesting a policy or scanning a user costs no model call.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from ingest.rubric import RubricAnswer, answer_rubric, load_rubric, rubric_score
from memory import analyses as store
from memory.db import Conn
from memory.policies import latest_document
from memory.settings import Settings
from memory.templates import Template, current_template, platform_by_slug

if TYPE_CHECKING:
    from ingest.embeddings import Embedder

ANALYSIS_VERSION = "1"   # bump when the rubric or the prompt changes: old cached analyses stop matching
RULES_MODEL = "rules"


class SettingNote(BaseModel):
    key: str
    explanation: str = Field(description="One or two plain sentences: what the setting exposes.")
    risk_weight: int = Field(ge=1, le=10, description="1 = little exposure, 10 = severe exposure.")


class RubricVerdict(BaseModel):
    id: str
    answer: str = Field(description="Short answer, grounded in the quoted passages.")
    points: int = Field(ge=0)


class ModelAnalysis(BaseModel):
    """What the model is asked for (structured output); citations come from our own retrieval."""

    settings: list[SettingNote] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list, max_length=8)
    rubric: list[RubricVerdict] = Field(default_factory=list)


@dataclass(frozen=True)
class AnalysisOutcome:
    template_version: int
    input_hash: str
    source: str          # "rules", "gemini:<model>", or "cache"
    model_called: bool
    analysis: dict[str, Any]


def input_hash(template: Template, policy_hash: str | None, model: str) -> str:
    key = json.dumps([ANALYSIS_VERSION, template.structure.content_hash(), policy_hash or "", model])
    return hashlib.sha256(key.encode()).hexdigest()


def gemini_model(settings: Settings) -> BaseChatModel | None:
    """The analysis model when a key is configured; None means the curated catalog plus rubric rules."""
    if settings.gemini_api_key is None:
        return None
    from langchain_google_genai import ChatGoogleGenerativeAI

    return ChatGoogleGenerativeAI(model=settings.gemini_analysis_model, api_key=settings.gemini_api_key,
                                  base_url=settings.gemini_base_url, max_retries=2, temperature=0)


def _model_name(model: BaseChatModel | None) -> str:
    if model is None:
        return RULES_MODEL
    return "gemini:" + str(getattr(model, "model", None) or getattr(model, "model_name", "unknown"))


def _prompt(template: Template, answers: list[RubricAnswer], evidence: dict[str, Any]) -> str:
    settings = [{"key": s.key, "label": s.label, "section": s.section, "curated": s.curated,
                 "weight": s.weight, "has_explanation": bool(s.explanation)} for s in template.structure.settings]
    questions = []
    for q in load_rubric():
        passages = [f"[{p.section}] {p.text}" for p in evidence.get(q.id, [])]
        questions.append({"id": q.id, "question": q.question, "max_points": q.points, "passages": passages})
    return (
        "You analyse one version of a platform's privacy settings and its privacy policy.\n"
        "1. For each setting with has_explanation false, explain in plain words what it exposes and give a "
        "risk_weight from 1 to 10.\n2. Give up to 8 concrete recommendations for a privacy-conscious user.\n"
        "3. Answer each rubric question only from its passages; points between 0 and max_points "
        "(more points = more protective); say 'Not stated' with middle points if the passages are silent.\n\n"
        f"SETTINGS:\n{json.dumps(settings, ensure_ascii=False)}\n\nRUBRIC:\n{json.dumps(questions, ensure_ascii=False)}"
    )


def _merge(template: Template, answers: list[RubricAnswer], model_out: ModelAnalysis | None,
           source: str, digest: str) -> dict[str, Any]:
    """Catalog-curated fields always win; the model fills only what the catalog lacks."""
    notes = {n.key: n for n in (model_out.settings if model_out else [])}
    settings = []
    for s in template.structure.settings:
        note = notes.get(s.key)
        curated = bool(s.explanation)
        settings.append({
            "key": s.key, "label": s.label,
            "explanation": s.explanation if curated else ({"exposure": note.explanation} if note else None),
            "weight": s.weight if s.curated or note is None else note.risk_weight,
            "source": "catalog" if curated else (source if note else "none"),
        })
    if model_out:
        verdicts = {v.id: v for v in model_out.rubric}
        answers = [a.model_copy(update={"answer": verdicts[a.id].answer,
                                        "points": min(verdicts[a.id].points, a.max_points)})
                   if a.id in verdicts else a for a in answers]
    recommendations = list(model_out.recommendations) if model_out else [
        f"{s.label}: set to '{s.recommended_value}'" for s in template.structure.settings
        if s.recommended_value is not None and s.weight >= 5]
    return {"input_hash": digest, "source": source, "template_version": template.version,
            "settings": settings, "recommendations": recommendations,
            "rubric": [a.model_dump() for a in answers], "rubric_score": rubric_score(answers)}


async def analyse_platform(conn: Conn, platform: str, *, embedder: Embedder,
                           model: BaseChatModel | None = None) -> AnalysisOutcome:
    """Make sure the platform's current template version has its analysis; at most one model call."""
    p = await platform_by_slug(conn, platform)
    template = await current_template(conn, p["id"])
    policy = await latest_document(conn, p["id"])
    source = _model_name(model)
    digest = input_hash(template, policy["content_hash"] if policy else None, source)
    if template.analysis and template.analysis.get("input_hash") == digest:
        return AnalysisOutcome(template.version, digest, "cache", False, template.analysis)
    async with conn.transaction():
        await store.lock_analysis(conn, digest)
        cached = await store.cached_analysis(conn, digest)
        if cached is not None:
            cached = {**cached, "template_version": template.version}
            await store.store_analysis(conn, template.id, digest, source, cached)
            return AnalysisOutcome(template.version, digest, "cache", False, cached)
        answers, evidence = (await answer_rubric(conn, platform, embedder)) if policy else ([], {})
        model_out = None
        if model is not None:
            structured = model.with_structured_output(ModelAnalysis)
            model_out = await structured.ainvoke(_prompt(template, answers, evidence))
        analysis = _merge(template, answers, model_out, source, digest)
        await store.store_analysis(conn, template.id, digest, source, analysis)
    return AnalysisOutcome(template.version, digest, source, model is not None, analysis)


async def analyse_all(conn: Conn, *, embedder: Embedder, model: BaseChatModel | None = None) -> list[AnalysisOutcome]:
    """Every platform that has both a template and a policy."""
    from memory.errors import TemplateNotFound

    out = []
    for slug in await store.platforms_with_policies(conn):
        try:
            out.append(await analyse_platform(conn, slug, embedder=embedder, model=model))
        except TemplateNotFound:
            continue
    return out
