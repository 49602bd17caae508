// A host app's integration (README, "Typed clients"): its backend asks
// Steward whether a member may act, and receives Steward's webhooks. Only
// type-checked (make test-ts), never run.
import { createServer } from "node:http";

import { createStewardClient, verifyWebhook } from "../src/index.js";

export async function integration(apiKey: string, webhookSecret: string, memberId: string): Promise<void> {
  const steward = createStewardClient("https://api.example.com", apiKey);
  const { data, error } = await steward.POST("/v1/authz/check", {
    body: { userId: memberId, action: "stock.edit", resource: { store: "s1" } },
  });
  if (error) throw new Error(`check: ${error.status} ${error.code}`); // a Problem
  console.log("allowed:", data.allowed);

  createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        const event = verifyWebhook(webhookSecret, req.headers, Buffer.concat(chunks)); // the raw body
        console.log("webhook", req.headers["webhook-id"], event);
        res.writeHead(204).end();
      } catch {
        res.writeHead(401).end(); // WebhookVerificationError
      }
    });
  }).listen(8080);
}
