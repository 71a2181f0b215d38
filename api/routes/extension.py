"""Extension endpoints (placeholder filled next)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/extension", tags=["extension"])
