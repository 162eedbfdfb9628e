"""Hooks for scripts/contract.sh: the few rules a JSON schema cannot state, applied to
positive (schema-valid) cases only, so that what the server accepts is checked for real:

- an analysis upload must be audio: its bytes are replaced by a short WAV;
- a webhook_url must resolve to an allowed address: it is pointed at a closed loopback port,
  so no request leaves the machine;
- a key's expires_at must be in the future.
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


def _positive(case) -> bool:
    """Whether the body is schema-valid (a negative case may be negative in another part)."""
    meta = getattr(case, "meta", None)
    if meta is None:
        return True
    for location, info in getattr(meta, "components", {}).items():
        if str(getattr(location, "value", location)) == "body":
            return info.mode == GenerationMode.POSITIVE
    return meta.generation.mode == GenerationMode.POSITIVE


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if not isinstance(case.body, dict):
        return
    # A copy: generation reuses the body it handed out as the template of later cases.
    body = case.body = dict(case.body)
    op = case.operation.definition.raw.get("operationId")
    if op == "analyze":
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
