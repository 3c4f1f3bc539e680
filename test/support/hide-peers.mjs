// Loaded with `node --import`: makes ioredis, bullmq and jose unresolvable in this process, as in
// an app that installed stratum-prisma alone (they are optional peers). test/optional-peers.test.ts.
import { register } from "node:module";

register(
  "data:text/javascript," +
    encodeURIComponent(`
const HIDDEN = new Set(["ioredis", "bullmq", "jose"]);
export async function resolve(specifier, context, next) {
  if (HIDDEN.has(specifier)) {
    const error = new Error("Cannot find package '" + specifier + "' imported from " + context.parentURL);
    error.code = "ERR_MODULE_NOT_FOUND";
    throw error;
  }
  return next(specifier, context);
}`),
);
