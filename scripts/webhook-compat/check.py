"""Submits a short WAV with a webhook_url on loopback, receives the delivery and verifies its
signatures with Stripe's and Standard Webhooks' libraries and a Stripe-style Node.js
verifier. URL, KEY (API key) and SECRET (its project's whsec_ secret) come from the
environment. Exits non-zero on any failure."""

import http.server
import io
import json
import os
import queue
import shutil
import struct
import subprocess
import sys
import threading
import urllib.request
import uuid

import standardwebhooks
import stripe

URL, KEY, SECRET = os.environ["URL"], os.environ["KEY"], os.environ["SECRET"]
HERE = os.path.dirname(os.path.abspath(__file__))
received: "queue.Queue[tuple[dict, bytes]]" = queue.Queue()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        received.put(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def wav() -> bytes:
    rate, n = 8000, 8000
    samples = b"".join(struct.pack("<h", (i * 37 % 2000) - 1000) for i in range(n))
    out = io.BytesIO()
    out.write(b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVE")
    out.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16))
    out.write(b"data" + struct.pack("<I", len(samples)) + samples)
    return out.getvalue()


def submit(hook: str) -> dict:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'.encode()
        + wav() + b"\r\n",
        f'--{boundary}\r\nContent-Disposition: form-data; name="webhook_url"\r\n\r\n{hook}\r\n'.encode(),
        f"--{boundary}--\r\n".encode(),
    ]
    req = urllib.request.Request(
        f"{URL}/api/v1/analyze",
        data=b"".join(parts),
        method="POST",
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def main() -> int:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    job = submit(f"http://127.0.0.1:{server.server_address[1]}/hook")
    headers, body = received.get(timeout=120)
    event = json.loads(body)
    assert event["data"]["job_id"] == job["job_id"], event
    failures = []

    header = headers["x-tonearm-signature"]
    try:
        stripe.WebhookSignature.verify_header(body.decode(), header, SECRET, tolerance=300)
        print("X-Tonearm-Signature: verified by stripe.WebhookSignature.verify_header")
    except Exception as e:  # noqa: BLE001 - any failure is reported
        failures.append(f"stripe: {e}")

    if shutil.which("node") is None:
        print("X-Tonearm-Signature: Node.js verifier skipped (node is not installed)")
    else:
        node = subprocess.run(["node", os.path.join(HERE, "verify.mjs"), SECRET, header], input=body)
        if node.returncode == 0:
            print("X-Tonearm-Signature: verified by the Stripe-style Node.js verifier")
        else:
            failures.append("node verifier refused X-Tonearm-Signature")

    try:
        standardwebhooks.Webhook(SECRET).verify(body, headers)
        print("webhook-signature: verified by standardwebhooks.Webhook.verify")
    except Exception as e:  # noqa: BLE001
        failures.append(f"standardwebhooks: {e}")

    server.shutdown()
    for f in failures:
        print(f"FAILED {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
