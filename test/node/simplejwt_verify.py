"""Checks JWTs with djangorestframework-simplejwt's own code, as the legacy Django site would.

stdin:  {"secret": "<Django SECRET_KEY>", "tokens": [{"token": "<jwt>", "type": "access" | "refresh"}]}
stdout: one JSON line per token, in order: {"ok": true, "claims": {...}} or {"ok": false, "error": "..."}

AccessToken(token) / RefreshToken(token) verify the HS256 signature with SECRET_KEY, exp (and PyJWT's
iat/nbf checks), the jti claim and token_type, with simplejwt's default settings. Run it with the
Python that has the Debian package python3-djangorestframework-simplejwt (/usr/bin/python3).
"""
import json
import sys
from datetime import timedelta

import django
from django.conf import settings

request = json.load(sys.stdin)

settings.configure(
    SECRET_KEY=request["secret"],
    USE_TZ=True,
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "rest_framework",
        "rest_framework_simplejwt",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    # simplejwt's defaults, spelled out: what the legacy site runs with.
    SIMPLE_JWT={
        "ALGORITHM": "HS256",
        "SIGNING_KEY": request["secret"],
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
        "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
        "LEEWAY": 0,
        "AUDIENCE": None,
        "ISSUER": None,
        "USER_ID_CLAIM": "user_id",
        "TOKEN_TYPE_CLAIM": "token_type",
        "JTI_CLAIM": "jti",
    },
)
django.setup()

# Imported after setup: simplejwt reads its settings when its modules load.
from rest_framework_simplejwt.exceptions import TokenError  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken  # noqa: E402

TOKEN_CLASSES = {"access": AccessToken, "refresh": RefreshToken}

for item in request["tokens"]:
    try:
        token = TOKEN_CLASSES[item["type"]](item["token"])
        result = {"ok": True, "claims": token.payload}
    except TokenError as e:
        result = {"ok": False, "error": str(e.args[0])}
    print(json.dumps(result), flush=True)
