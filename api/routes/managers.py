"""`POST /v1/managers`: the backend registers a manager and receives their token once."""

from __future__ import annotations

import secrets

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, EmailStr
from sqlalchemy.exc import IntegrityError

from api.deps import BackendDep, ClockDep, SessionDep, hash_token
from api.errors import Conflict, responses
from api.schemas.common import Id, OneLine, Text
from db.models import Manager

router = APIRouter(prefix="/v1/managers", tags=["managers"])


class ManagerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id
    name: OneLine  # it goes into the From header of the lead follow-ups
    email: EmailStr
    signature: Text = ""


class ManagerCreated(BaseModel):
    id: str
    name: str
    email: str
    signature: str
    token: str  # shown this once; only its hash is stored


@router.post("", status_code=201, responses=responses(409))
async def create_manager(
    body: ManagerIn, session: SessionDep, clock: ClockDep, _: BackendDep
) -> ManagerCreated:
    """Register a manager; the response carries the bearer token for the tasks API."""
    token = secrets.token_urlsafe(32)
    session.add(
        Manager(
            id=body.id,
            name=body.name,
            email=body.email,
            signature=body.signature,
            token_hash=hash_token(token),
            created_at=await clock(),
        )
    )
    try:
        await session.commit()
    except IntegrityError as error:
        raise Conflict(f"manager {body.id!r} already exists") from error
    return ManagerCreated(**body.model_dump(), token=token)
