"""The sync server: a FastAPI app over SQLAlchemy (PostgreSQL; SQLite for a one-person trial).

`create_app(Settings(db_url=...))` builds the app; `python -m server serve` (or `rsched serve`)
runs it with uvicorn. Every `/v1` request except the health check carries the client's schema
version in the `X-Rsched-Schema` header; a different version is answered with 426 and a sentence
telling the user to update the program. The OpenAPI document is at `/openapi.json`.
"""



import datetime as dt
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.store.models import SCHEMA_VERSION
from server import models as sm
from server.db import make_engine, migrate, session_factory
from server.permissions import ENDPOINT_ROLES
from server.push import Caller, changes_after, changes_page_json, lock_program, push
from server.schemas import (
    MAX_PAGE,
    AccountIn,
    AccountOut,
    ChangesPage,
    Health,
    LoggedOut,
    LoginRequest,
    Problem,
    ProgramIn,
    ProgramOut,
    PushRequest,
    PushResponse,
    RefreshRequest,
    TokenPair,
)
from server.security import (
    DUMMY_HASH,
    LoginLimiter,
    hash_password,
    make_access_token,
    new_refresh_token,
    read_access_token,
    token_digest,
    verify_password,
)

SCHEMA_HEADER = "X-Rsched-Schema"
SERVER_VERSION = "1"


@dataclass
class Settings:
    db_url: str
    access_ttl_seconds: int = 300
    refresh_ttl_seconds: int = 30 * 24 * 3600
    login_max_failures: int = 5
    login_window_seconds: float = 60.0
    refresh_reuse_grace_seconds: float = 30.0
    """A refresh token presented again within this many seconds of its use (the reply was lost)
    gets a new pair, and the pair issued before is revoked; later reuse ends the sign-in."""
    run_migrations: bool = True


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> HTTPException:
    return HTTPException(status_code=status, detail=detail, headers=headers)


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "not signed in, or the token expired"},
    403: {"model": Problem, "description": "the role does not allow this"},
    422: {"description": "the request is malformed"},
    426: {"model": Problem, "description": "the program is older or newer than the server: update it"},
}


def _secret(sessions: Callable[[], Session]) -> bytes:
    with sessions() as s:
        row = s.get(sm.ServerMeta, "token_secret")
        if row is None:
            s.add(sm.ServerMeta(key="token_secret", value=secrets.token_hex(32)))
            try:
                s.commit()
            except IntegrityError:
                s.rollback()
            row = s.get(sm.ServerMeta, "token_secret")
        assert row is not None
        return bytes.fromhex(row.value)


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.db_url)
    if settings.run_migrations:
        migrate(engine)
    sessions = session_factory(engine)
    secret = _secret(sessions)
    limiter = LoginLimiter(settings.login_max_failures, settings.login_window_seconds)
    trial_lock = threading.Lock() if engine.dialect.name == "sqlite" else None

    app = FastAPI(
        title="Residency Scheduler sync server",
        version=SERVER_VERSION,
        description="Push, pull and the change feed of SYNC.md; accounts and the five roles.",
    )
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.limiter = limiter

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    # ------------------------------------------------------------------------------ dependencies
    def db() -> Iterator[Session]:
        with sessions() as session:
            yield session

    def schema_version(
        x_rsched_schema: Annotated[str | None, Header(description="the client's schema version")] = None,
    ) -> None:
        if x_rsched_schema is None or x_rsched_schema.strip() != str(SCHEMA_VERSION):
            got = f"schema {x_rsched_schema.strip()[:20]}" if x_rsched_schema else "no schema version"
            raise _problem(426, f"This program ({got}) does not match the server (schema {SCHEMA_VERSION}); "
                                "update the program (or the server) so both are the same version.")

    def current_account(
        session: Annotated[Session, Depends(db)],
        authorization: Annotated[str | None, Header()] = None,
    ) -> sm.Account:
        scheme, _, token = (authorization or "").partition(" ")
        claims = read_access_token(secret, token.strip()) if scheme.lower() == "bearer" else None
        if claims is None:
            raise _problem(401, "Sign in again: the access token is missing, invalid or expired.",
                           {"WWW-Authenticate": "Bearer"})
        account = session.get(sm.Account, claims.account_id)
        if account is None or not account.active:
            raise _problem(401, "This account no longer exists or was disabled.", {"WWW-Authenticate": "Bearer"})
        return account

    def allowed(endpoint: str) -> Callable[..., sm.Account]:
        roles = ENDPOINT_ROLES[endpoint]

        def check(account: Annotated[sm.Account, Depends(current_account)]) -> sm.Account:
            if account.role not in roles:
                raise _problem(403, f"A {account.role.replace('_', '-')} account may not do this.")
            return account

        return check

    def member_of(account: sm.Account, program_id: str) -> None:
        if account.program_id is not None and account.program_id != program_id:
            raise _problem(403, "Your account does not belong to this program.")

    def issue(session: Session, account: sm.Account, family: str | None = None) -> TokenPair:
        now = _utcnow()
        refresh = new_refresh_token()
        session.add(sm.RefreshToken(token_hash=token_digest(refresh), account_id=account.id,
                                    family=family or str(uuid.uuid4()), issued_at=now,
                                    expires_at=now + dt.timedelta(seconds=settings.refresh_ttl_seconds)))
        access = make_access_token(secret, account.id, account.role, settings.access_ttl_seconds)
        return TokenPair(access_token=access, refresh_token=refresh, expires_in=settings.access_ttl_seconds,
                         role=account.role, account_id=account.id, program_id=account.program_id,  # type: ignore[arg-type]
                         person_id=account.person_id)

    def account_out(a: sm.Account) -> AccountOut:
        return AccountOut(id=a.id, username=a.username, role=a.role, program_id=a.program_id,  # type: ignore[arg-type]
                          person_id=a.person_id, active=a.active)

    versioned = [Depends(schema_version)]

    # --------------------------------------------------------------------------------- endpoints
    @app.get("/v1/health", response_model=Health, tags=["meta"])
    def health() -> Health:
        return Health(status="ok", schema_version=SCHEMA_VERSION, server_version=SERVER_VERSION)

    @app.post("/v1/auth/login", response_model=TokenPair, tags=["auth"], dependencies=versioned,
              responses={**ERRORS, 429: {"model": Problem, "description": "too many failed attempts"}})
    def login(body: LoginRequest, request: Request, session: Annotated[Session, Depends(db)]) -> TokenPair:
        keys = [f"user:{body.username.lower()}", f"addr:{request.client.host if request.client else '?'}"]
        wait = limiter.retry_after(keys)
        if wait > 0:
            raise _problem(429, f"Too many failed sign-ins; try again in {int(wait) + 1} seconds.",
                           {"Retry-After": str(int(wait) + 1)})
        account = session.scalars(select(sm.Account).where(sm.Account.username == body.username)).first()
        ok = verify_password(body.password, account.password_hash if account else DUMMY_HASH)
        if account is None or not ok or not account.active:
            limiter.failed(keys)
            raise _problem(401, "The user name or password is wrong.", {"WWW-Authenticate": "Bearer"})
        limiter.succeeded(keys[0])
        pair = issue(session, account)
        session.commit()
        return pair

    @app.post("/v1/auth/refresh", response_model=TokenPair, tags=["auth"], dependencies=versioned,
              responses=ERRORS)
    def refresh(body: RefreshRequest, session: Annotated[Session, Depends(db)]) -> TokenPair:
        token = session.execute(select(sm.RefreshToken).where(
            sm.RefreshToken.token_hash == token_digest(body.refresh_token)).with_for_update()).scalar_one_or_none()
        now = _utcnow()
        if token is None or token.revoked:
            raise _problem(401, "Sign in again: this sign-in was ended.", {"WWW-Authenticate": "Bearer"})
        used_at = token.used_at
        if used_at is not None and used_at.tzinfo is None:
            used_at = used_at.replace(tzinfo=dt.UTC)
        if used_at is not None and (now - used_at).total_seconds() <= settings.refresh_reuse_grace_seconds:
            # The answer to the first use was most likely lost: revoke what it issued, issue again.
            session.execute(update(sm.RefreshToken).where(
                sm.RefreshToken.family == token.family, sm.RefreshToken.token_hash != token.token_hash,
                sm.RefreshToken.used_at.is_(None)).values(revoked=True))
        elif used_at is not None:
            # A used refresh token came back: someone holds a copy. End the whole sign-in.
            session.execute(update(sm.RefreshToken).where(sm.RefreshToken.family == token.family)
                            .values(revoked=True))
            session.commit()
            raise _problem(401, "Sign in again: this refresh token was already used, so the sign-in was "
                                "ended for safety.", {"WWW-Authenticate": "Bearer"})
        expires = token.expires_at if token.expires_at.tzinfo else token.expires_at.replace(tzinfo=dt.UTC)
        account = session.get(sm.Account, token.account_id)
        if expires <= now or account is None or not account.active:
            raise _problem(401, "Sign in again: the sign-in expired.", {"WWW-Authenticate": "Bearer"})
        token.used_at = used_at or now
        pair = issue(session, account, token.family)
        session.commit()
        return pair

    @app.post("/v1/auth/logout", response_model=LoggedOut, tags=["auth"], dependencies=versioned,
              responses=ERRORS)
    def logout(body: RefreshRequest, session: Annotated[Session, Depends(db)]) -> LoggedOut:
        token = session.get(sm.RefreshToken, token_digest(body.refresh_token))
        if token is None:
            return LoggedOut(revoked=0)
        n = session.execute(update(sm.RefreshToken).where(
            sm.RefreshToken.family == token.family, sm.RefreshToken.revoked.is_(False)).values(revoked=True)).rowcount
        session.commit()
        return LoggedOut(revoked=int(n or 0))

    @app.get("/v1/me", response_model=AccountOut, tags=["accounts"], dependencies=versioned, responses=ERRORS)
    def me(account: Annotated[sm.Account, Depends(allowed("me"))]) -> AccountOut:
        return account_out(account)

    @app.get("/v1/accounts", response_model=list[AccountOut], tags=["accounts"], dependencies=versioned,
             responses=ERRORS)
    def list_accounts(_a: Annotated[sm.Account, Depends(allowed("list_accounts"))],
                      session: Annotated[Session, Depends(db)]) -> list[AccountOut]:
        return [account_out(a) for a in session.scalars(select(sm.Account).order_by(sm.Account.username))]

    @app.post("/v1/accounts", response_model=AccountOut, status_code=201, tags=["accounts"],
              dependencies=versioned, responses={**ERRORS, 409: {"model": Problem}})
    def create_account(body: AccountIn, _a: Annotated[sm.Account, Depends(allowed("create_account"))],
                       session: Annotated[Session, Depends(db)]) -> AccountOut:
        if body.role != "admin" and body.program_id is None:
            raise _problem(422, "Every account except an admin belongs to one program (program_id).")
        if session.scalars(select(sm.Account).where(sm.Account.username == body.username)).first():
            raise _problem(409, f"There is already an account named {body.username!r}.")
        account = sm.Account(id=str(uuid.uuid4()), username=body.username, password_hash=hash_password(body.password),
                             role=body.role, program_id=body.program_id, person_id=body.person_id, active=True,
                             created_at=_utcnow())
        session.add(account)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise _problem(409, f"There is already an account named {body.username!r}.") from None
        return account_out(account)

    def program_out(p: sm.Program) -> ProgramOut:
        return ProgramOut(id=p.id, name=p.name, last_seq=p.next_seq - 1)

    @app.get("/v1/programs", response_model=list[ProgramOut], tags=["programs"], dependencies=versioned,
             responses=ERRORS)
    def list_programs(account: Annotated[sm.Account, Depends(allowed("list_programs"))],
                      session: Annotated[Session, Depends(db)]) -> list[ProgramOut]:
        q = select(sm.Program).order_by(sm.Program.id)
        if account.program_id is not None:
            q = q.where(sm.Program.id == account.program_id)
        return [program_out(p) for p in session.scalars(q)]

    @app.post("/v1/programs", response_model=ProgramOut, status_code=201, tags=["programs"],
              dependencies=versioned, responses={**ERRORS, 409: {"model": Problem}})
    def create_program(body: ProgramIn, _a: Annotated[sm.Account, Depends(allowed("create_program"))],
                       session: Annotated[Session, Depends(db)]) -> ProgramOut:
        if session.get(sm.Program, body.id) is not None:
            raise _problem(409, "That program already exists on the server.")
        program = sm.Program(id=body.id, name=body.name, next_seq=1, created_at=_utcnow())
        session.add(program)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise _problem(409, "That program already exists on the server.") from None
        return program_out(program)

    ProgramId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9_.:-]+$")]

    @app.post("/v1/programs/{program_id}/push", response_model=PushResponse, tags=["sync"],
              dependencies=versioned, responses={**ERRORS, 404: {"model": Problem}})
    def push_ops(program_id: ProgramId, body: PushRequest,
                 account: Annotated[sm.Account, Depends(allowed("push"))],
                 session: Annotated[Session, Depends(db)]) -> PushResponse:
        member_of(account, program_id)
        caller = Caller(account.id, account.username, account.role, account.person_id)
        if trial_lock is not None:
            trial_lock.acquire()
        try:
            program = lock_program(session, program_id)
            if program is None:
                if account.role not in ("admin", "coordinator"):
                    raise _problem(404, "That program is not on the server yet; a coordinator links it first.")
                session.add(sm.Program(id=program_id, name="", next_seq=1, created_at=_utcnow()))
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                program = lock_program(session, program_id)
                assert program is not None
            results = push(session, program, caller, body.node, body.ops, _utcnow())
            last = program.next_seq - 1
            session.commit()
        finally:
            if trial_lock is not None:
                trial_lock.release()
        return PushResponse(results=results, last_seq=last)

    @app.get("/v1/programs/{program_id}/changes", response_model=ChangesPage, tags=["sync"],
             dependencies=versioned, responses={**ERRORS, 404: {"model": Problem}})
    def changes(program_id: ProgramId, account: Annotated[sm.Account, Depends(allowed("changes"))],
                session: Annotated[Session, Depends(db)],
                after: Annotated[int, Query(ge=0, le=2**62)] = 0,
                limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 500) -> Any:
        member_of(account, program_id)
        if session.get(sm.Program, program_id) is None:
            raise _problem(404, "That program is not on the server.")
        body = changes_page_json(session, program_id, after, limit)
        if body is not None:  # PostgreSQL wrote the page (same shape as ChangesPage)
            return Response(body, media_type="application/json")
        page, more = changes_after(session, program_id, after, limit)
        return ChangesPage(changes=page, next_cursor=page[-1].seq if page else after, has_more=more)

    @app.middleware("http")
    async def _timing(request: Request, call_next: Callable[[Request], Any]) -> Response:
        started = time.perf_counter()
        response: Response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    return app


def add_account(db_url: str, username: str, password: str, role: str, *, program_id: str | None = None,
                person_id: str | None = None) -> str:
    """Create an account directly in the database (bootstrap of the first admin)."""
    engine = make_engine(db_url)
    try:
        migrate(engine)
        with session_factory(engine)() as session:
            account = sm.Account(id=str(uuid.uuid4()), username=username, password_hash=hash_password(password),
                                 role=role, program_id=program_id, person_id=person_id, active=True,
                                 created_at=_utcnow())
            session.add(account)
            session.commit()
            return account.id
    finally:
        engine.dispose()
