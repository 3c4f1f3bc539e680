/**
 * Where a tenant's rows live. The isolation layer implements one source per place a tenant's data
 * can be: its rows in the shared RLS tables, its schema, its database. A source is bound to one
 * tenant when it is created, so none of its methods can reach another tenant's rows.
 */
export type Row = Record<string, unknown>;

export interface TenantDataSource {
  /** Stable label used in exports and purge counts, e.g. "shared", "schema:acme", "database:eu1". */
  readonly name: string;
  /** Tables holding the tenant's rows, parents before children (purges delete in reverse). */
  listTables(): Promise<string[]>;
  /** Every row of the tenant in `table`, in batches of at most `batchSize`. */
  streamRows(table: string, batchSize: number): AsyncIterable<Row[]>;
  /** Deletes every row of the tenant here (and the schema or database, when it is the tenant's alone); rows per table. */
  deleteAll(): Promise<Record<string, number>>;
  /** The tenant's row count per table. */
  counts(): Promise<Record<string, number>>;
  /** Rows of `table` whose `subjectColumn` equals `subjectId` (subject-level export). */
  streamSubjectRows?(table: string, subjectColumn: string, subjectId: string, batchSize: number): AsyncIterable<Row[]>;
  /** Deletes the rows of `table` whose `subjectColumn` equals `subjectId`; the count deleted. */
  deleteSubjectRows?(table: string, subjectColumn: string, subjectId: string): Promise<number>;
}

/** JSON text of a row value: bigints as strings, bytes as base64, dates as ISO strings. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v && typeof v === "object" && (v as { type?: unknown }).type === "Buffer" && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString("base64");
    }
    return v;
  });
}

/** Collects an export stream into one string (small tenants, tests). */
export async function collectExport(chunks: AsyncIterable<string>): Promise<string> {
  let out = "";
  for await (const chunk of chunks) out += chunk;
  return out;
}

/** Streams `batches` as the elements of one JSON array, one chunk per batch. */
export async function* jsonArray(batches: AsyncIterable<Row[]> | Iterable<Row[]>, onRows?: (n: number) => void): AsyncGenerator<string> {
  yield "[";
  let first = true;
  for await (const batch of batches) {
    if (batch.length === 0) continue;
    onRows?.(batch.length);
    const body = batch.map((r) => toJsonText(r)).join(",");
    yield first ? body : `,${body}`;
    first = false;
  }
  yield "]";
}
