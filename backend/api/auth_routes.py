"""Login, token refresh and user management."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.api.deps import (
    CONFLICT,
    DB,
    NOT_FOUND,
    THROTTLED,
    Admin,
    Id,
    RuntimeDep,
    Viewer,
    throttle,
)
from backend.api.request_body import RequestBody
from backend.api.schemas import Me
from backend.core.auth import Role, TokenError, dummy_verify, hash_password, verify_password
from backend.core.db import now_ms
from backend.core.orm import User

router = APIRouter(prefix="/api", tags=["auth"])


class LoginBody(RequestBody):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class RefreshBody(RequestBody):
    refresh_token: str = Field(min_length=1, max_length=4096)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class UserBody(RequestBody):
    username: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    password: str = Field(min_length=8, max_length=1024)
    role: Role = Field(default=Role.VIEWER, strict=False)


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    disabled: bool


@router.post("/auth/login", response_model=TokenPair, responses=THROTTLED)
def login(body: LoginBody, request: Request, rt: RuntimeDep, db: DB) -> dict[str, Any]:
    """Exchange a password for tokens; failures are throttled per client+user, per user
    across clients and per client across users."""
    client = request.client.host if request.client else "?"
    throttle(rt.limiter, client, body.username)
    user = db.scalar(select(User).where(User.username == body.username))
    if user is None:
        dummy_verify(body.password)
        ok = False
    else:
        ok = verify_password(user.password_hash, body.password) and not user.disabled
    if user is None or not ok:
        rt.limiter.failed(client, body.username)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid credentials")
    rt.limiter.succeeded(client, body.username)
    return rt.tokens.pair(user.username, Role(user.role))


@router.post("/auth/refresh", response_model=TokenPair)
def refresh(body: RefreshBody, rt: RuntimeDep, db: DB) -> dict[str, Any]:
    """New tokens for a valid refresh token of a still-enabled user (role re-read)."""
    try:
        who = rt.tokens.check(body.refresh_token, "refresh")
    except TokenError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"invalid token: {exc}") from None
    user = db.scalar(select(User).where(User.username == who.username))
    if user is None or user.disabled:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "user no longer active")
    return rt.tokens.pair(user.username, Role(user.role))


@router.get("/auth/me", response_model=Me)
def me(who: Viewer) -> Me:
    """The caller's name and current role."""
    return Me(username=who.username, role=who.role)


@router.get("/users", response_model=list[UserOut])
def list_users(_: Admin, db: DB) -> list[User]:
    return list(db.scalars(select(User).order_by(User.id)))


@router.post(
    "/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, responses=CONFLICT
)
def create_user(body: UserBody, _: Admin, db: DB) -> User:
    user = User(
        username=body.username,
        password_hash=hash_password(body.password),
        role=body.role.value,
        disabled=False,
        created_ms=now_ms(),
    )
    db.add(user)
    try:
        db.commit()
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, "username taken") from None
    return user


class UserPatch(RequestBody):
    role: Role | None = Field(default=None, strict=False)
    disabled: bool | None = None


def _user(db: DB, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such user")
    return user


@router.patch("/users/{user_id}", response_model=UserOut, responses=NOT_FOUND)
def update_user(user_id: Id, body: UserPatch, _: Admin, db: DB, rt: RuntimeDep) -> User:
    """Change a user's role or disable it; its tokens follow at the next request."""
    user = _user(db, user_id)
    if body.role is not None:
        user.role = body.role.value
    if body.disabled is not None:
        user.disabled = body.disabled
    db.commit()
    rt.users.forget(user.username)
    return user


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_user(user_id: Id, _: Admin, db: DB, rt: RuntimeDep) -> None:
    """Remove a user; every token issued to it stops working."""
    user = _user(db, user_id)
    db.delete(user)
    db.commit()
    rt.users.forget(user.username)
