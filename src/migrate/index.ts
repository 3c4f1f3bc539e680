/** Migrations without Prisma's native schema engine (see src/migrate/*.ts). */
export {
  applyMigrations,
  applyMigrationsToUrl,
  checksumOf,
  listMigrations,
  pgExecutor,
  pgliteExecutor,
  MIGRATIONS_LOCK_KEY,
  PRISMA_MIGRATIONS_TABLE_SQL,
  type ApplyMigrationsOptions,
  type ApplyMigrationsResult,
  type MigrationExecutor,
  type MigrationFileInfo,
  type PGliteLike,
} from "./runner.js";
export {
  diffSql,
  driftSql,
  isEmptyMigration,
  loadSchemaEngine,
  migrationsList,
  prismaDeploy,
  prismaMigrationStatus,
  readSchemaFiles,
  schemaHash,
  type DiffOptions,
  type SchemaEngineInfo,
} from "./schema-engine.js";
export {
  appliedMigrationNames,
  createMigration,
  movableSecurityMigrations,
  nextMigrationSql,
  migrationTimestamp,
  SECURITY_MIGRATION_SUFFIX,
  type CreateMigrationOptions,
  type CreatedMigration,
} from "./create.js";
