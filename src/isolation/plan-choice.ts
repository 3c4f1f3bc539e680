/**
 * Generic plans kept where they are the plan PostgreSQL would choose anyway.
 *
 * Prisma binds a page's `LIMIT $1 OFFSET $2`. For a prepared statement's generic plan PostgreSQL
 * assumes a bound LIMIT fetches 10 % of the rows it estimates, so in a table whose average tenant
 * holds many rows the generic plan is priced far above a custom one and the statement is planned
 * again on every call, although both plans are the same 20-entry index walk (docs/isolation.md,
 * "What is left of the page at a million rows"). Forcing generic plans everywhere would be wrong
 * where the 10 % guess changes the plan (a large home, a scan and a sort instead of the walk).
 *
 * So a statement of a single-tenant scope whose every parameter is a LIMIT or an OFFSET is checked
 * once per pool (and again after `ttlMs`): in the same scope, `EXPLAIN EXECUTE` under
 * `force_custom_plan` and under `force_generic_plan`, and only when the two plans have the same
 * shape (node types, relations, indexes, directions, sort keys) does the scope prelude send the
 * statement with `force_generic_plan` from then on. Anything else — another parameter, a failed
 * check, two different plans — leaves PostgreSQL's choice alone.
 */

/** The parameters of a statement that binds nothing but LIMIT and OFFSET, as SQL literals; else undefined. */
export function limitOnlyLiterals(text: string, values: readonly unknown[] | undefined): string[] | undefined {
  if (!values?.length) return undefined;
  const literals: string[] = [];
  for (const value of values) {
    // Prisma's driver adapter passes them as decimal strings; only digits are ever written into SQL.
    const literal = typeof value === "string" ? value : typeof value === "number" || typeof value === "bigint" ? String(value) : "";
    if (!/^\d{1,18}$/.test(literal)) return undefined;
    literals.push(literal);
  }
  // Every `$n` in the text must be a LIMIT's or an OFFSET's, and every parameter must appear.
  const seen = new Set<number>();
  for (const match of text.matchAll(/(\w+)?\s*\$(\d+)\b/g)) {
    const keyword = match[1]?.toUpperCase();
    if (keyword !== "LIMIT" && keyword !== "OFFSET") return undefined;
    seen.add(Number(match[2]));
  }
  if (seen.size !== values.length || ![...seen].every((n) => n >= 1 && n <= values.length)) return undefined;
  return literals;
}

/** `EXPLAIN (FORMAT JSON) EXECUTE "<name>"(literals…)`: the prepared statement's plan for these values. */
export function explainExecuteSql(name: string, literals: readonly string[]): string {
  return `EXPLAIN (FORMAT JSON) EXECUTE "${name.replace(/"/g, '""')}"(${literals.join(", ")})`;
}

interface PlanNode {
  "Node Type"?: string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Scan Direction"?: string;
  "Sort Key"?: string[];
  Strategy?: string;
  "Parent Relationship"?: string;
  Plans?: PlanNode[];
}

/** A plan's shape, costs and estimates left out: what the executor will do, not what it was priced at. */
export function planShape(plan: PlanNode): string {
  const shape = (n: PlanNode): unknown => [
    n["Node Type"],
    n["Relation Name"],
    n["Index Name"],
    n["Scan Direction"],
    n["Sort Key"],
    n.Strategy,
    n["Parent Relationship"],
    (n.Plans ?? []).map(shape),
  ];
  return JSON.stringify(shape(plan));
}

/** The root plan node of an `EXPLAIN (FORMAT JSON)` result row. */
export function explainedPlan(rows: ReadonlyArray<Record<string, unknown>>): PlanNode | undefined {
  const json = rows[0]?.["QUERY PLAN"] as Array<{ Plan?: PlanNode }> | undefined;
  return json?.[0]?.Plan;
}

/** One pool's verdicts: statement (by search_path and name) → whether its generic plan is kept. */
export class PlanChoices {
  private readonly verdicts = new Map<string, { generic: boolean; at: number }>();
  private readonly checking = new Set<string>();

  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly max = 2_000,
  ) {}

  static key(searchPath: string, name: string): string {
    return `${searchPath}\0${name}`;
  }

  /** The prelude's plan_cache_mode for the statement: `force_generic_plan` once its plans were found the same. */
  modeFor(key: string): "" | "force_generic_plan" {
    const verdict = this.verdicts.get(key);
    return verdict?.generic && Date.now() - verdict.at < this.ttlMs ? "force_generic_plan" : "";
  }

  /** True when the statement should be checked now (no fresh verdict, no check under way); claims it. */
  claim(key: string): boolean {
    const verdict = this.verdicts.get(key);
    if ((verdict && Date.now() - verdict.at < this.ttlMs) || this.checking.has(key)) return false;
    this.checking.add(key);
    return true;
  }

  /** Records a check's outcome: `generic` true only when both plans had the same shape. */
  settle(key: string, generic: boolean): void {
    this.checking.delete(key);
    if (this.verdicts.size >= this.max && !this.verdicts.has(key)) this.verdicts.delete(this.verdicts.keys().next().value as string);
    this.verdicts.set(key, { generic, at: Date.now() });
  }
}
