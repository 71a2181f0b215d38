"""Privacy endpoints (placeholder filled next)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/privacy", tags=["privacy"])
