/**
 * A real HTTP receiver for the webhook tests: node:http on 127.0.0.1, a random port, one route per
 * name (`/hook/<name>`). Each route records every request (headers and raw body) and answers what
 * its behaviour says for the n-th request (status, optional delay).
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Reply {
  status: number;
  delayMs?: number;
  headers?: Record<string, string>;
}

export type Behaviour = (n: number, request: ReceivedRequest) => Reply;

export interface WebhookReceiver {
  url(name: string): string;
  requests(name: string): ReceivedRequest[];
  behave(name: string, behaviour: Behaviour): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received = new Map<string, ReceivedRequest[]>();
  const behaviours = new Map<string, Behaviour>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const name = (req.url ?? "").replace(/^\/hook\//, "");
      const request: ReceivedRequest = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() };
      const list = received.get(name) ?? [];
      list.push(request);
      received.set(name, list);
      const reply: Reply = (behaviours.get(name) ?? (() => ({ status: 200 })))(list.length, request);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status, { "content-type": "text/plain", ...reply.headers });
        res.end(reply.status >= 300 ? `nope ${reply.status}` : "ok");
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs).unref();
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (name) => `http://127.0.0.1:${port}/hook/${name}`,
    requests: (name) => received.get(name) ?? [],
    behave: (name, behaviour) => void behaviours.set(name, behaviour),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
