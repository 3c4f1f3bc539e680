/** Builds the three strategies from the generated model metadata. */
import type { StratumModels } from "../core/models.js";
import type { IsolationStrategyName } from "../core/types.js";
import { databaseStrategy } from "../isolation/database.js";
import { rlsStrategy } from "../isolation/rls.js";
import { schemaStrategy } from "../isolation/schema.js";
import type { TenantTable } from "../isolation/ddl.js";
import type { TableColumns } from "../isolation/descendants.js";
import type { IsolationStrategy } from "../isolation/strategy.js";

export function tenantTablesOf(models: StratumModels): TenantTable[] {
  return models.tenantModels.map((name) => {
    const model = models.models[name]!;
    const id = model.fields.find((f) => f.name === model.primaryKey[0]);
    return { table: model.table, tenantColumn: model.tenantColumn ?? "tenant_id", audited: model.audited, idColumn: id?.column ?? "id" };
  });
}

/** Each tenant table's columns, in the model's order: the descendants view unions tables by them. */
export function tenantColumnsOf(models: StratumModels): TableColumns[] {
  return models.tenantModels.map((name) => {
    const model = models.models[name]!;
    return { table: model.table, columns: model.fields.filter((f) => f.kind !== "object").map((f) => f.column) };
  });
}

export function buildStrategies(tenantTables: readonly string[]): Record<IsolationStrategyName, IsolationStrategy> {
  return {
    SHARED_RLS: rlsStrategy(),
    SCHEMA: schemaStrategy(tenantTables),
    DATABASE: databaseStrategy(),
  };
}
