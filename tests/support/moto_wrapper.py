#!/usr/bin/env python3
"""Test-support IAM/STS server: moto's werkzeug app plus what stock moto lacks.

Test code only; never shipped. Started by tests/support/mod.rs (`Moto::start`).

Gaps of stock moto 5.x closed here (see docs/rig.md):
  1. In authentication mode, a request signed with an *Inactive* key is refused with
     InvalidClientTokenId (403), as AWS does. Stock moto never reads the key status.
  2. Auth errors come back as <ErrorResponse><Errors><Error>..., which the Rust SDK cannot
     read (`.code()` is None); they are rewritten to the awsQuery shape
     <ErrorResponse><Error>...</Error><RequestId/></ErrorResponse>.
  3. Test control endpoints under /keyage-test/ (JSON in, JSON out) that edit moto's IAM
     backend directly (they bypass authentication on purpose):
       POST /keyage-test/auth                      switch authentication mode on
       POST /keyage-test/user      {name, actions?: [..] | null, key?: bool}
                                   -> {user, arn, key_id?, secret?}
       POST /keyage-test/key       {user} -> {key_id, secret}
       POST /keyage-test/age       {key_id, days}       CreateDate := now - days
       POST /keyage-test/last-used {key_id, days: N | null, service?, region?}
                                   LastUsedDate := now - days (null: never used); the value
                                   is pinned: later signed requests no longer move it
       POST /keyage-test/status    {key_id, active: bool}
       POST /keyage-test/delete    {key_id}
       GET  /keyage-test/keys?user=NAME -> [{key_id, active, created, last_used}]
Policies: moto checks user actions against resource "*" only, so test policies use
Resource "*".

Usage: moto_wrapper.py [--port P]   (P = 0 picks a free port). Prints "READY <port>" on
stdout once the socket listens.
"""

import argparse
import datetime
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse

from werkzeug.serving import make_server

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.authorization import ActionAuthenticatorMixin
from moto import settings
import moto.backends as moto_backends
import moto.core.responses as moto_responses
import moto.iam.models as iam_models
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

ACCOUNT = DEFAULT_ACCOUNT_ID
PARTITION = "aws"
SELF_SERVICE_ACTIONS = [
    "iam:ListAccessKeys",
    "iam:GetAccessKeyLastUsed",
    "iam:CreateAccessKey",
    "iam:UpdateAccessKey",
    "iam:DeleteAccessKey",
    "iam:GetUser",
    "sts:GetCallerIdentity",
]

LOCK = threading.Lock()
LATENCY_S = 0.0

# Speed only (no behaviour change): stock moto lists its ~180 service folders on disk (a stat
# each) and inspects the response class's members on every request — about half of its time per
# IAM call. Both answers never change while the server runs, so they are computed once.
_MODULES = tuple(moto_backends.list_of_moto_modules())
moto_backends.list_of_moto_modules = lambda: _MODULES
_METHOD_NAMES = {}
_orig_method_names = moto_responses.method_names_from_class


def _method_names(clazz):
    names = _METHOD_NAMES.get(clazz)
    if names is None:
        names = _METHOD_NAMES[clazz] = _orig_method_names(clazz)
    return names


moto_responses.method_names_from_class = _method_names
# key id -> pinned AccessKeyLastUsed (or None = never used)
PINNED = {}

_orig_mark = iam_models.mark_account_as_visited


def _mark(account_id, access_key, service, region):
    if access_key in PINNED:
        return
    _orig_mark(account_id=account_id, access_key=access_key, service=service, region=region)


iam_models.mark_account_as_visited = _mark


def backend():
    return iam_models.iam_backends[ACCOUNT][PARTITION]


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def auth_on():
    return ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT


def find_key(key_id):
    key = backend().access_keys.get(key_id)
    if key is None:
        raise KeyError(f"no access key {key_id}")
    return key


def iso(d):
    if d is None:
        return None
    if hasattr(d, "timestamp") and not isinstance(d, datetime.datetime):
        d = d.timestamp
    return d.replace(microsecond=0).isoformat() + "Z"


def new_key(user):
    k = backend().create_access_key(user)
    return {"key_id": k.access_key_id, "secret": k.secret_access_key}


def control(method, path, query, body):
    """Returns (status, json-able)."""
    b = backend()
    if path == "auth" and method == "POST":
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0
        return 200, {"auth": True}
    if path == "user" and method == "POST":
        name = body["name"]
        user = b.create_user("us-east-1", name)
        actions = body.get("actions", SELF_SERVICE_ACTIONS)
        if actions:
            doc = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
            }
            b.put_user_policy(name, "keyage-self-service", json.dumps(doc))
        out = {"user": name, "arn": user.arn}
        if body.get("key", True):
            out.update(new_key(name))
        return 200, out
    if path == "key" and method == "POST":
        return 200, new_key(body["user"])
    if path == "age" and method == "POST":
        k = find_key(body["key_id"])
        k.create_date = now() - datetime.timedelta(days=float(body["days"]))
        return 200, {"created": iso(k.create_date)}
    if path == "last-used" and method == "POST":
        k = find_key(body["key_id"])
        days = body.get("days")
        if days is None:
            k.last_used = None
        else:
            k.last_used = iam_models.AccessKeyLastUsed(
                timestamp=now() - datetime.timedelta(days=float(days)),
                service=body.get("service") or "iam",
                region=body.get("region") or "us-east-1",
            )
        PINNED[k.access_key_id] = k.last_used
        return 200, {"last_used": iso(k.last_used)}
    if path == "status" and method == "POST":
        k = find_key(body["key_id"])
        k.status = "Active" if body["active"] else "Inactive"
        return 200, {"active": k.status == "Active"}
    if path == "delete" and method == "POST":
        k = find_key(body["key_id"])
        b.delete_access_key_by_name(k.access_key_id)
        PINNED.pop(k.access_key_id, None)
        return 200, {"deleted": True}
    if path == "keys" and method == "GET":
        user = query.get("user", [None])[0]
        rows = []
        for k in b.get_user(user).access_keys:
            rows.append(
                {
                    "key_id": k.access_key_id,
                    "active": k.status == "Active",
                    "created": iso(k.create_date),
                    "last_used": iso(k.last_used),
                }
            )
        return 200, rows
    return 404, {"error": f"unknown test endpoint {method} {path}"}


CRED_RE = re.compile(r"Credential=([A-Z0-9]+)/")
ERRORS_RE = re.compile(rb"<Errors>\s*(<Error>.*?</Error>)\s*</Errors>", re.S)


def query_error(status, code, message):
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{message}</Message></Error>"
        "<RequestId>keyage-test</RequestId></ErrorResponse>"
    ).encode()
    return status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))], body


class Wrapper:
    def __init__(self, inner):
        self.inner = inner

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/keyage-test/"):
            return self.test_endpoint(environ, start_response, path[len("/keyage-test/") :])
        if LATENCY_S:
            time.sleep(LATENCY_S)  # an emulated network round trip (benchmarks only)
        if auth_on():
            m = CRED_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
            if m:
                key = backend().access_keys.get(m.group(1))
                if key is not None and key.status != "Active":
                    status, headers, body = query_error(
                        "403 Forbidden",
                        "InvalidClientTokenId",
                        "The security token included in the request is invalid.",
                    )
                    start_response(status, headers)
                    return [body]
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"] = status
            captured["headers"] = headers
            return lambda data: None

        chunks = self.inner(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        status = captured.get("status", "500 INTERNAL SERVER ERROR")
        headers = captured.get("headers", [])
        if not status.startswith("2") and b"<ErrorResponse" in body and b"<Errors>" in body:
            body = ERRORS_RE.sub(lambda mm: mm.group(1), body, count=1)
            if b"<RequestId>" not in body:
                body = body.replace(
                    b"</ErrorResponse>", b"<RequestId>keyage-test</RequestId></ErrorResponse>"
                )
            headers = [(k, v) for (k, v) in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    def test_endpoint(self, environ, start_response, path):
        method = environ.get("REQUEST_METHOD", "GET")
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        try:
            n = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            n = 0
        raw = environ["wsgi.input"].read(n) if n else b""
        try:
            body = json.loads(raw) if raw.strip() else {}
            with LOCK:
                code, out = control(method, path.strip("/"), query, body)
        except Exception as e:  # test support: report, never crash the server
            code, out = 400, {"error": f"{type(e).__name__}: {e}"}
        data = json.dumps(out).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(code, "Error")
        start_response(
            f"{code} {reason}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument(
        "--latency-ms",
        type=float,
        default=0,
        help="wait this long before answering each AWS call (emulates the network to AWS; "
        "the waits of concurrent calls overlap, as on a network)",
    )
    args = p.parse_args()
    global LATENCY_S
    LATENCY_S = args.latency_ms / 1000
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(
        args.host, args.port, Wrapper(app), threaded=True, request_handler=MotoRequestHandler
    )
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    sys.stdout.write(f"READY {server.server_port}\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
