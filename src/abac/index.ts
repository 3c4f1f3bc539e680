export { createAbacService, CHAIN_POLICIES_SQL } from "./service.js";
export type { AbacService, AbacServiceDeps, AbacPolicy, AbacPolicyInput, AbacDecision, PolicyEffect } from "./service.js";
export { Operators, evaluateCondition } from "./conditions.js";
export type { Condition, Operator, EvaluationInput } from "./conditions.js";
