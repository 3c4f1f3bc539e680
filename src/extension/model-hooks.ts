/**
 * Per-model transformations on scoped operations: field encryption on the way in, decryption on
 * the way out. `scopedOperation` in scoped.ts calls these for every tenant-model operation.
 */
import type { TenantScope } from "../isolation/scope.js";
import type { StratumRuntime } from "./runtime.js";

export interface ModelHooks {
  /** Rewrites an operation's args before it runs (e.g. seals encrypted fields). */
  beforeOperation(model: string, operation: string, args: unknown, scope: TenantScope): unknown;
  /** Rewrites an operation's result (e.g. opens encrypted fields, nested ones included). */
  afterOperation(model: string, operation: string, result: unknown, scope: TenantScope): unknown;
  /** False when no model needs hooks, so the hot path skips them entirely. */
  readonly active: boolean;
}

export function createModelHooks(_runtime: StratumRuntime): ModelHooks {
  return {
    active: false,
    beforeOperation: (_model, _operation, args) => args,
    afterOperation: (_model, _operation, result) => result,
  };
}
