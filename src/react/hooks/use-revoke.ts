/**
 * Revokes a grant with a chosen revocation mode. The server revokes by the mode stored on the
 * grant, so a different choice is stored first (PATCH) and then applied (DELETE); if the second
 * step fails the grant stays, with the new mode, and the error says why.
 */
import { useCallback } from "react";
import type { PermissionRecord, RevocationMode, RevokeResult, StratumAdminClient } from "../client/types.js";
import { useAction, type Action } from "./use-action.js";

export interface Revoke extends Omit<Action, "run"> {
  revoke(grant: PermissionRecord, mode: RevocationMode): Promise<RevokeResult | null>;
}

export function useRevoke(client: StratumAdminClient, tenantId: string): Revoke {
  const action = useAction();
  const { run } = action;
  const revoke = useCallback(
    async (grant: PermissionRecord, mode: RevocationMode) => {
      let result: RevokeResult | null = null;
      await run(async () => {
        if (mode !== grant.revocation_mode) await client.updatePermission(tenantId, grant.key, { revocation_mode: mode });
        result = await client.revokePermission(tenantId, grant.key);
      });
      return result;
    },
    [client, tenantId, run],
  );
  return { pending: action.pending, error: action.error, clearError: action.clearError, revoke };
}
