// verifyWebhook against the Standard Webhooks libraries' published test
// vector (the same in every language's tests): node --test runs the
// compiled file (make test).
import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";

import { createStewardClient, verifyWebhook, WebhookVerificationError } from "../src/index.js";

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const timestamp = 1614265330;
const body = '{"test": 2432232314}';
const signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

const headers = {
  "webhook-id": id,
  "webhook-timestamp": String(timestamp),
  "webhook-signature": signature,
};

// The vector's timestamp is in 2021: verify as of a minute after it (the
// library reads the clock with Date.now).
let now = 0;
beforeEach(() => {
  now = (timestamp + 60) * 1000;
  mock.method(Date, "now", () => now);
});
afterEach(() => mock.restoreAll());

test("the published vector verifies and answers the parsed body", () => {
  assert.deepEqual(verifyWebhook(secret, headers, body), { test: 2432232314 });
  // The raw bytes, a fetch Headers, any letter case, and a second
  // signature (rotation) beside the right one.
  assert.deepEqual(verifyWebhook(secret, new Headers(headers), new TextEncoder().encode(body)), { test: 2432232314 });
  const mixed = {
    "Webhook-Id": id,
    "WEBHOOK-TIMESTAMP": String(timestamp),
    "webhook-signature": "v1,Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg= " + signature,
  };
  assert.deepEqual(verifyWebhook(secret, mixed, body), { test: 2432232314 });
});

test("a changed body, id, secret or timestamp does not verify", () => {
  const cases: [string, () => unknown][] = [
    ["body", () => verifyWebhook(secret, headers, '{"test": 2432232315}')],
    ["id", () => verifyWebhook(secret, { ...headers, "webhook-id": id + "x" }, body)],
    ["secret", () => verifyWebhook("whsec_" + Buffer.from("another secret").toString("base64"), headers, body)],
    ["timestamp", () => verifyWebhook(secret, { ...headers, "webhook-timestamp": String(timestamp + 1) }, body)],
    ["missing header", () => verifyWebhook(secret, { "webhook-id": id, "webhook-signature": signature }, body)],
  ];
  for (const [name, verify] of cases) {
    assert.throws(verify, WebhookVerificationError, name);
  }
});

test("an old message does not verify", () => {
  now = (timestamp + 6 * 60) * 1000;
  assert.throws(() => verifyWebhook(secret, headers, body), /too old/);
});

test("the client sends the bearer token to the base URL", async () => {
  let seen: Request | undefined;
  const steward = createStewardClient("https://steward.example/", "stk_id_secret");
  const { data, error } = await steward.GET("/v1/health", {
    fetch: async (req: Request) => {
      seen = req;
      return Response.json({ status: "ok", dynamodb: "ok" });
    },
  });
  assert.equal(error, undefined);
  assert.equal(data?.status, "ok");
  assert.equal(seen?.url, "https://steward.example/v1/health");
  assert.equal(seen?.headers.get("Authorization"), "Bearer stk_id_secret");
});
