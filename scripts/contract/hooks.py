"""Hooks for scripts/contract.sh: the few rules a JSON schema cannot state, applied to
positive (schema-valid) cases only, so that what the server accepts is checked for real:

- an analysis upload must be audio: its bytes are replaced by a short WAV;
- a webhook_url must resolve to an allowed address: it is pointed at a closed loopback port,
  so no request leaves the machine;
- a key's expires_at must be in the future;
- an Idempotency-Key names one upload: a valid key is made unique to its case, since reusing it
  with another generated file is rightly refused (422).
"""

import io
import re
import struct
from datetime import datetime, timedelta, timezone

import schemathesis
from schemathesis.generation.modes import GenerationMode
from schemathesis.transport.serialization import Binary


def _wav() -> bytes:
    rate, n = 8000, 2000
    samples = b"".join(struct.pack("<h", (i * 37 % 2000) - 1000) for i in range(n))
    buf = io.BytesIO()
    buf.write(b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVE")
    buf.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16))
    buf.write(b"data" + struct.pack("<I", len(samples)) + samples)
    return buf.getvalue()


WAV = _wav()
LOOPBACK_HOOK = "http://127.0.0.1:9/contract"
# The webhook_url pattern of the OpenAPI document.
URL_PATTERN = re.compile(r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@]+([/?#][^\s]*)?$")


def _positive(case, part: str = "body") -> bool:
    """Whether `part` of the case is schema-valid (a negative case may be negative elsewhere)."""
    meta = getattr(case, "meta", None)
    if meta is None:
        return True
    for location, info in getattr(meta, "components", {}).items():
        if str(getattr(location, "value", location)) == part:
            return info.mode == GenerationMode.POSITIVE
    return meta.generation.mode == GenerationMode.POSITIVE


def _unique_idempotency_key(case) -> None:
    if not case.headers:
        return
    headers = case.headers = dict(case.headers)
    for name, value in list(headers.items()):
        if name.lower() == "idempotency-key" and isinstance(value, str) and _positive(case, "header"):
            if re.fullmatch(r"[\x21-\x7e]{1,255}", value):
                headers[name] = f"{value[:200]}-{case.id}"


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if not isinstance(case.body, dict):
        return
    # A copy: generation reuses the body it handed out as the template of later cases.
    body = case.body = dict(case.body)
    op = case.operation.definition.raw.get("operationId")
    if op == "analyze":
        _unique_idempotency_key(case)
        # Never let a generated URL reach DNS or the network, in any mode: a valid one goes to
        # a closed loopback port, an invalid http(s) one becomes one that is invalid without a
        # lookup (credentials in the URL; the schema's pattern excludes them too).
        url = body.get("webhook_url")
        if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
            body["webhook_url"] = LOOPBACK_HOOK if URL_PATTERN.match(url) else "http://user@127.0.0.1:9/"
        if _positive(case) and "file" in body:
            body["file"] = Binary(WAV)
    elif op == "keysCreate" and _positive(case):
        if isinstance(body.get("expires_at"), str):
            soon = datetime.now(timezone.utc) + timedelta(days=30)
            body["expires_at"] = soon.strftime("%Y-%m-%dT%H:%M:%SZ")
