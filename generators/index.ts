export { generateStratum, metadataSource, DEFAULT_APP_ROLE, DEFAULT_RUNTIME_IMPORT } from "./core.js";
export type { GenerateStratumOptions, GenerateStratumResult } from "./core.js";
export { writeSecurityMigration, latestSecuritySql, listMigrations, SECURITY_MIGRATION_SUFFIX } from "./migration.js";
export { runGenerator, readConfig, assertGenerated, defaultMigrationsDir } from "./run.js";
export type { StratumGeneratorConfig, RunResult } from "./run.js";
