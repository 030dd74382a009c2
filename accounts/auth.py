"""How Flask-Login finds the current user: the browser session, or an API bearer token.

Every logged-in request loads its user, so the session loader is lean: one Core statement reads the user's
row and their organization's row (no ORM query compilation, no row processors, no lazy loads), and the two
ORM objects are made from those rows and attached to the request's session as if a query had loaded them
(``RowLoader.attach``). ``current_user`` is an ordinary, persistent ``User``: services may write to
it, pass it to relationships, and its other relationships (``managed_org``, ``position_rows``) load on first
use. The row is read afresh on every request — nothing is remembered between requests — so a deactivated
user, a changed role or a move to another organization takes effect at the next request on every server.
"""
from __future__ import annotations

from flask import g
from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.attributes import instance_state

from accounts import services
from accounts.models import Organization, User
from core.extensions import db


class RowLoader:
    """Builds persistent ORM objects of ``model`` from the values of its table's columns, in table order."""

    def __init__(self, model: type) -> None:
        self.mapper = inspect(model)
        self.columns = tuple(model.__table__.columns)
        self.keys = tuple(self.mapper.get_property_by_column(column).key for column in self.columns)
        self.id_index = self.keys.index("id")
        self.ready = False

    def _configure(self) -> None:
        """Objects made by hand need configured mappers, which a query would have set up; in a fresh worker this
        may be the first ORM use of all."""
        configure_mappers()
        self.ready = True

    def attach(self, session, values, **loaded):
        """The persistent object for ``values`` in ``session``: the one the session holds already, or a new one
        made "as if loaded by a query" — its column values (and ``loaded`` relationships) committed, its other
        relationships left to load on first use. No SQL.

        This does by hand, for two objects per request, what ``make_transient_to_detached`` followed by
        ``Session.add`` does (that pair walks every relationship's cascade and re-derives the identity: three
        times the cost). It uses two semi-private SQLAlchemy calls, ``InstanceState._commit_all`` and
        ``Session._update_impl`` (the ones ``add`` ends in); tests/test_accounts_auth.py covers them."""
        if not self.ready:
            self._configure()
        identity = self.mapper.identity_key_from_primary_key((values[self.id_index],))
        known = session.identity_map.get(identity)
        if known is not None:  # this request's session has loaded it already: use that one
            return known
        obj = self.mapper.class_manager.new_instance()
        state = instance_state(obj)
        state.dict.update(zip(self.keys, values))
        state.dict.update(loaded)
        state.key = identity
        state._commit_all(state.dict)
        session._update_impl(state)
        return obj


_USERS = RowLoader(User)
_ORGANIZATIONS = RowLoader(Organization)
_USER_COUNT = len(_USERS.columns)

# Built once (building a select costs about as much as running it).
USER_WITH_ORGANIZATION = (
    select(*_USERS.columns, *_ORGANIZATIONS.columns)
    .select_from(User.__table__.outerjoin(Organization.__table__,
                                          User.__table__.c.organization_id == Organization.__table__.c.id))
    .where(User.__table__.c.id == bindparam("user_id"))
)


def load_user_by_id(user_id: int) -> User | None:
    """The user with their organization, in one statement; None when there is no such user."""
    session = db.session()
    row = session.connection().execute(USER_WITH_ORGANIZATION, {"user_id": user_id}).first()
    if row is None:
        return None
    organization_values = row[_USER_COUNT:]
    organization = None
    if organization_values[_ORGANIZATIONS.id_index] is not None:
        organization = _ORGANIZATIONS.attach(session, organization_values)
    return _USERS.attach(session, row[:_USER_COUNT], organization=organization)


def init_login(login_manager) -> None:
    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        user = load_user_by_id(int(user_id)) if user_id.isdigit() else None
        return user if user is not None and user.is_active else None

    @login_manager.request_loader
    def load_user_from_bearer(request) -> User | None:
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return None
        token = services.token_for(raw.strip())
        if token is None:
            return None
        g.api_token = token
        return token.user
