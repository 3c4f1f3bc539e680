/// <reference lib="dom" />
/** The dashboard server's own routes (sign-in, view-as, the MSP overview), called same-origin with the session cookie. */
import type { Overview } from "../overview.js";

export interface SessionInfo {
  email: string;
  name: string;
  view_as: { id: string; name: string } | null;
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, {
    ...init,
    credentials: "same-origin",
    headers: { accept: "application/json", ...(init.body ? { "content-type": "application/json" } : {}) },
  });
  const body = (await res.json().catch(() => ({}))) as T | { error?: { code: string; message: string } };
  if (!res.ok) {
    const error = (body as { error?: { code: string; message: string } }).error;
    throw Object.assign(new Error(error?.message ?? `HTTP ${res.status}`), { code: error?.code ?? `HTTP_${res.status}`, status: res.status });
  }
  return body as T;
}

export const dashboardApi = {
  session: () => call<SessionInfo>("/auth/session"),
  login: (email: string, password: string) => call<SessionInfo>("/auth/login", { method: "POST", body: JSON.stringify({ email, password }) }),
  logout: () => call<{ signed_out: true }>("/auth/logout", { method: "POST", body: "{}" }),
  viewAs: (tenantId: string | null) => call<SessionInfo>("/auth/view-as", { method: "POST", body: JSON.stringify({ tenant_id: tenantId }) }),
  overview: (tenantId: string) => call<Overview>(`/dashboard/api/overview/${encodeURIComponent(tenantId)}`),
};
