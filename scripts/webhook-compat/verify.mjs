// A receiver's Stripe-style verifier as hosted analysis APIs document it: the HMAC key is the
// secret string as given. Usage: node verify.mjs SECRET HEADER < body; exit 0 when valid.
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";

function verify(rawBody, header, secret) {
  const parts = Object.fromEntries(header.split(",").map((p) => p.split("=")));
  const expected = createHmac("sha256", secret).update(`${parts.t}.${rawBody}`).digest("hex");
  return timingSafeEqual(Buffer.from(expected), Buffer.from(parts.v1));
}

const [secret, header] = process.argv.slice(2);
const body = readFileSync(0, "utf8");
process.exit(verify(body, header, secret) ? 0 : 1);
