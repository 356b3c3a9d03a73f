"""Users and their API tokens: /auth/users, /auth/tokens, /users/me."""

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from ..access import require_system, require_user
from ..auth import Caller, mint_token
from ..http import Field, conflict, created, invalid, not_found, ok, parse_body, parse_timestamp
from ..models import Role, Token, User
from ..serializers import token_json, user_json

EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
SCOPES = ("read", "write")


def create_user(*, email: str, full_name: str | None, password: str | None, role: str = Role.USER) -> User:
    """A new user; a 409 if the email is taken (emails are compared in lowercase)."""
    email = email.strip().lower()
    if User.objects.filter(email=email).exists():
        raise conflict("A user with this email already exists.")
    try:
        with transaction.atomic():
            return User.objects.create(
                email=email,
                full_name=full_name,
                role=role,
                # No password: the user can only use tokens, never the device page's sign-in.
                password=make_password(password) if password else make_password(None),
            )
    except IntegrityError:
        raise conflict("A user with this email already exists.") from None


def system_create_user(request: HttpRequest, caller: Caller) -> JsonResponse:
    # seed: POST /auth/users (createSystemUser)
    require_system(caller)
    data = parse_body(
        request,
        {
            "email": Field(str, required=True, max_length=254, pattern=EMAIL),
            "fullName": Field(str, nullable=True, max_length=200),
            "password": Field(str, required=True, max_length=200),
            "role": Field(str, choices=tuple(Role.values)),
        },
    )
    user = create_user(
        email=data["email"],
        full_name=data.get("fullName"),
        password=data["password"],
        role=data.get("role", Role.USER),
    )
    return created({"user": user_json(user)})


def create_token(request: HttpRequest, caller: Caller) -> JsonResponse:
    # seed: POST /auth/tokens (generateToken)
    user = require_user(caller)
    data = parse_body(
        request,
        {
            "name": Field(str, required=True, max_length=200),
            "scopes": Field(list, nullable=True, item_choices=SCOPES),
            "expiresAt": Field(str, nullable=True),
        },
    )
    expires_at = None
    if data.get("expiresAt"):
        expires_at = parse_timestamp(data["expiresAt"], "expiresAt")
        if expires_at <= timezone.now():
            raise invalid({"expiresAt": ["Must be in the future."]})
    scopes = data.get("scopes")
    token, raw = mint_token(
        Token.Kind.API,
        "nx_",
        name=data["name"],
        user=user,
        scopes=sorted(set(scopes)) if scopes is not None else None,
        expires_at=expires_at,
    )
    return created({**token_json(token), "token": raw})


def list_tokens(request: HttpRequest, caller: Caller) -> JsonResponse:
    # seed: GET /auth/tokens (listTokens)
    user = require_user(caller)
    tokens = Token.objects.filter(user=user, kind=Token.Kind.API).order_by("id")
    return JsonResponse({"tokens": [token_json(token) for token in tokens]})


def revoke_token(request: HttpRequest, caller: Caller, token_id: int) -> JsonResponse:
    # seed: DELETE /auth/tokens/:id (revokeToken)
    user = require_user(caller)
    deleted, _ = Token.objects.filter(pk=token_id, user=user, kind=Token.Kind.API).delete()
    if not deleted:
        raise not_found("Token")
    return ok()


def me(request: HttpRequest, caller: Caller) -> JsonResponse:
    # seed: GET /users/me (me)
    return JsonResponse({"user": user_json(require_user(caller))})


def update_me(request: HttpRequest, caller: Caller) -> JsonResponse:
    # seed: PUT /users/me (update)
    user = require_user(caller)
    data = parse_body(
        request,
        {
            "fullName": Field(str, nullable=True, max_length=200),
            "avatarUrl": Field(str, nullable=True, max_length=2000, pattern=r"https?://\S+"),
        },
    )
    if "fullName" in data:
        user.full_name = data["fullName"]
    if "avatarUrl" in data:
        user.avatar_url = data["avatarUrl"]
    user.save()
    return JsonResponse({"user": user_json(user)})
