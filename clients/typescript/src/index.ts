// Steward's typed client: paths and schemas generated from the OpenAPI
// document (src/schema.d.ts, by openapi-typescript: `make generate`),
// requests through openapi-fetch, and webhook verification per the
// Standard Webhooks specification.
import createClient, { type Client } from "openapi-fetch";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };
export { WebhookVerificationError };

/** The API's named schemas, e.g. `Schemas["Member"]`. */
export type Schemas = components["schemas"];

/** An RFC 9457 problem, the body of every error answer. */
export type Problem = Schemas["Problem"];

/** A client of the whole API, its paths and bodies typed. */
export type StewardClient = Client<paths>;

/**
 * createStewardClient returns a client of the API at baseUrl (the
 * deployment's origin, e.g. "https://api.example.com": paths start with
 * /v1). token, when given, is sent as `Authorization: Bearer <token>` on
 * every request: a member's access token, or the host app's API key
 * (`stk_<id>_<secret>`). Without one only the public routes answer.
 *
 *   const steward = createStewardClient(url, apiKey);
 *   const { data, error } = await steward.GET("/v1/me");
 */
export function createStewardClient(baseUrl: string, token?: string): StewardClient {
  const headers: Record<string, string> = {};
  if (token) {
    headers["Authorization"] = `Bearer ${token}`;
  }
  return createClient<paths>({ baseUrl: baseUrl.replace(/\/+$/, ""), headers });
}

/**
 * The headers of a webhook request: a fetch `Headers` (a Request's), or a
 * plain object such as Node's `IncomingMessage.headers` (any letter case).
 */
export type WebhookHeaders =
  | { get(name: string): string | null }
  | Record<string, string | string[] | undefined>;

const webhookHeaderNames = ["webhook-id", "webhook-timestamp", "webhook-signature"] as const;

/**
 * verifyWebhook checks a webhook request's signature (Standard Webhooks:
 * HMAC-SHA256 over `webhook-id.webhook-timestamp.body` with the endpoint's
 * `whsec_...` secret) and that its timestamp is within five minutes of
 * now, and returns the body parsed as JSON. It throws a
 * WebhookVerificationError when the headers are missing, the signature
 * matches none of those sent, or the timestamp is too old or too new.
 *
 * body must be the raw bytes (or text) as received: JSON parsed and
 * serialized again does not verify.
 */
export function verifyWebhook(secret: string, headers: WebhookHeaders, body: string | Uint8Array): unknown {
  const picked: Record<string, string> = {};
  for (const name of webhookHeaderNames) {
    const value = headerValue(headers, name);
    if (value !== undefined) {
      picked[name] = value;
    }
  }
  const payload = typeof body === "string" ? body : new TextDecoder().decode(body);
  return new Webhook(secret).verify(payload, picked);
}

function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof headers.get === "function") {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  for (const [key, value] of Object.entries(record)) {
    if (key.toLowerCase() === name) {
      return Array.isArray(value) ? value.join(" ") : value;
    }
  }
  return undefined;
}
