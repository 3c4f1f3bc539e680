/** What the components show for a failure: the server's code and message, never a stack. */
export interface AdminError {
  /** The control plane's code (CONFIG_LOCKED, FORBIDDEN, …) or the SDK's transport code. */
  code: string;
  message: string;
}

export function toAdminError(error: unknown): AdminError {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (e && typeof e.code === "string" && typeof e.message === "string") return { code: e.code, message: e.message };
  if (error instanceof Error) return { code: "UNKNOWN", message: error.message };
  return { code: "UNKNOWN", message: String(error) };
}
