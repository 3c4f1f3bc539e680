/**
 * Runtime model metadata. Prisma 7's `prisma-client` generator exposes no DMMF at run time, so
 * stratum's generator emits this description of the schema (generated/stratum/index.ts) and the
 * isolation layer reads it: which models are tenant-scoped, by which column, what their keys are.
 *
 * Names are Prisma names unless the property says otherwise (`table`, `column`, `tenantColumn` are
 * database names, i.e. after `@@map` / `@map`). Arrays are readonly so the emitted
 * `as const satisfies StratumModels` literal type-checks; mutable arrays are still accepted.
 */

export type StratumFieldKind = "scalar" | "enum" | "object" | "unsupported";

export interface StratumRelation {
  /** Prisma relation name (`@relation("…")` or the generated default). */
  readonly name: string;
  /** The related model's Prisma name. */
  readonly model: string;
  /** Foreign-key fields on this model (empty on the back-relation side). */
  readonly fields: readonly string[];
  /** Referenced fields on the related model (empty on the back-relation side). */
  readonly references: readonly string[];
}

export interface StratumField {
  readonly name: string;
  /** Database column name (`@map`), equal to `name` when unmapped. */
  readonly column: string;
  /** Prisma type: String, Int, …, an enum name or a model name. */
  readonly type: string;
  readonly isList: boolean;
  readonly isRequired: boolean;
  readonly isId: boolean;
  readonly hasDefault: boolean;
  readonly kind: StratumFieldKind;
  /** Native type with arguments, e.g. `Uuid`, `Timestamptz(6)`, `VarChar(191)`. */
  readonly nativeType?: string;
  /** `/// @stratum.encrypted`: stored as ciphertext, encrypted and decrypted by the extension. */
  readonly encrypted?: boolean;
  /** `/// @stratum.subject`: identifies the data subject (GDPR export / purge). */
  readonly subject?: boolean;
  readonly relation?: StratumRelation;
}

export interface StratumUnique {
  readonly name?: string;
  readonly fields: readonly string[];
}

export interface StratumModel {
  readonly name: string;
  /** Database table name (`@@map`). */
  readonly table: string;
  readonly scope: "tenant" | "global";
  /** Prisma name of the tenant field (tenant models only). */
  readonly tenantField?: string;
  /** Database column of the tenant field (tenant models only). */
  readonly tenantColumn?: string;
  readonly primaryKey: readonly string[];
  readonly uniques: readonly StratumUnique[];
  readonly fields: readonly StratumField[];
  /** `/// @stratum.audit` on the model: every mutation writes an audit row. */
  readonly audited: boolean;
  readonly encryptedFields: readonly string[];
  readonly subjectField?: string;
}

export interface StratumModels {
  readonly version: 1;
  readonly provider: "postgresql";
  readonly models: Readonly<Record<string, StratumModel>>;
  /** Prisma names of tenant-scoped models, sorted. */
  readonly tenantModels: readonly string[];
  /** Prisma names of global models (stratum's own and `@stratum.global` ones), sorted. */
  readonly globalModels: readonly string[];
  /** sha256 of the model metadata; changes whenever anything above changes. */
  readonly schemaHash: string;
}
