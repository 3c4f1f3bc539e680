/**
 * Per-model transformations on scoped operations: field encryption on the way in, decryption on
 * the way out. `scopedOperation` in scoped.ts calls these for every tenant-model operation.
 *
 * Encryption (`/// @stratum.encrypted`, `encryptedFields` in the metadata) binds each ciphertext to
 * `{ tenant, table, column, row id }` (src/crypto/fields.ts), so:
 *  - creates (create, createMany, createManyAndReturn, upsert's create, nested create /
 *    createMany / connectOrCreate / upsert) seal the values, generating the row id when the data
 *    has none so the ciphertext is bound to the id the row will get;
 *  - updates (update, upsert's update, nested update / upsert with a `where` naming the id) seal
 *    under the row id taken from the unique `where`; an update that cannot name its row (a
 *    compound-unique `where` without the id, a to-one nested update, updateMany,
 *    updateManyAndReturn) is refused when it writes an encrypted value: there is no single row to
 *    bind the ciphertext to. Writing `null` is always allowed.
 *  - reads open every encrypted field in the result, nested includes and selects included (walked
 *    with the relation metadata). A value copied from another row, tenant or column fails with
 *    DECRYPTION_FAILED; the whole operation fails rather than return a value nobody sealed there.
 *  - selecting an encrypted field also selects the row id (and, in a descendants view, the tenant
 *    field): opening a value needs them, so they appear in the result even if not asked for.
 *  - filtering or grouping on an encrypted field is refused (VALIDATION_FAILED): values are sealed
 *    with a random nonce, so the database cannot compare them. `null` comparisons are allowed.
 *
 * Without a key configured the hooks stay active for models with encrypted fields: writes of an
 * encrypted value are refused (never stored in clear) and sealed values are returned as stored.
 *
 * Global models with encrypted fields bind the tenant "global" (as rotation does); the hooks run
 * only on scoped clients, so use those for them too.
 */
import { StratumError } from "../core/errors.js";
import type { StratumModel, StratumModels } from "../core/models.js";
import type { TenantScope } from "../isolation/scope.js";
import { decryptFields, encryptFields, type FieldCipher } from "../crypto/index.js";
import type { StratumRuntime } from "./runtime.js";

export interface ModelHooks {
  /** Rewrites an operation's args before it runs (e.g. seals encrypted fields). */
  beforeOperation(model: string, operation: string, args: unknown, scope: TenantScope): unknown;
  /** Rewrites an operation's result (e.g. opens encrypted fields, nested ones included). */
  afterOperation(model: string, operation: string, result: unknown, scope: TenantScope): unknown;
  /** False when no model needs hooks, so the hot path skips them entirely. */
  readonly active: boolean;
}

type Obj = Record<string, unknown>;

interface Relation {
  model: string;
  isList: boolean;
}

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date);
const eachOf = (v: unknown, fn: (x: unknown) => unknown): unknown => (Array.isArray(v) ? v.map(fn) : fn(v));

const READS_WITHOUT_ROWS = new Set(["count", "aggregate", "groupBy", "createMany", "updateMany", "deleteMany", "$queryRaw", "$executeRaw"]);
const NESTED_UPDATE_KEYS = new Set(["where", "data"]);

/** Models from which an encrypted model is reachable through relation fields (itself included). */
function reachingModels(models: StratumModels, relations: Map<string, Map<string, Relation>>): Set<string> {
  const reach = new Set(
    Object.values(models.models)
      .filter((m) => m.encryptedFields.length > 0)
      .map((m) => m.name),
  );
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, rels] of relations) {
      if (reach.has(name)) continue;
      if ([...rels.values()].some((r) => reach.has(r.model))) {
        reach.add(name);
        changed = true;
      }
    }
  }
  return reach;
}

export function createModelHooks(runtime: StratumRuntime): ModelHooks {
  const models = runtime.models;
  const cipher: FieldCipher | undefined = runtime.cipher;
  const relations = new Map<string, Map<string, Relation>>();
  for (const model of Object.values(models.models)) {
    const rels = new Map<string, Relation>();
    for (const f of model.fields) if (f.kind === "object") rels.set(f.name, { model: f.type, isList: f.isList });
    relations.set(model.name, rels);
  }
  const reach = reachingModels(models, relations);
  if (!Object.values(models.models).some((m) => m.encryptedFields.length > 0)) {
    return { active: false, beforeOperation: (_m, _o, args) => args, afterOperation: (_m, _o, result) => result };
  }

  const meta = (name: string): StratumModel => {
    const m = models.models[name];
    if (!m) throw new StratumError("INTERNAL", `No metadata for model ${name}: regenerate the stratum models (prisma generate).`);
    return m;
  };
  const pkOf = (m: StratumModel) => (m.primaryKey.length === 1 ? m.primaryKey[0]! : undefined);

  /** The encrypted fields `data` writes a non-null value to. */
  const written = (m: StratumModel, data: Obj): string[] =>
    m.encryptedFields.filter((f) => {
      const v = data[f];
      if (v === undefined || v === null) return false;
      return !(isObj(v) && "set" in v && v["set"] === null);
    });

  const needCipher = (m: StratumModel, fields: string[]): FieldCipher => {
    if (cipher) return cipher;
    throw new StratumError(
      "ENCRYPTION_FAILED",
      `${m.name}.${fields.join(", ")} ${fields.length > 1 ? "are" : "is"} encrypted but no key is configured: pass encryptionKey (or encryptionKeys) to stratum(), or set STRATUM_ENCRYPTION_KEY. Nothing is stored in clear.`,
      { model: m.name, fields },
    );
  };

  /** The row id named by a unique `where`: `{ id }`, `{ id: { equals } }` or a compound selector holding it. */
  const rowIdFrom = (m: StratumModel, where: unknown): string | undefined => {
    const pk = pkOf(m);
    if (!pk || !isObj(where)) return undefined;
    const plain = (v: unknown): string | undefined =>
      typeof v === "string" || typeof v === "number" || typeof v === "bigint" ? String(v) : isObj(v) && "equals" in v ? plain(v["equals"]) : undefined;
    const direct = plain(where[pk]);
    if (direct !== undefined) return direct;
    for (const value of Object.values(where)) {
      if (isObj(value) && pk in value) {
        const inner = plain(value[pk]);
        if (inner !== undefined) return inner;
      }
    }
    return undefined;
  };

  /** The tenant to bind: the tenant field in the data, else the parent's / scope's (undefined for global models). */
  const tenantOfData = (m: StratumModel, data: Obj, hint: string | undefined): string | undefined => {
    if (!m.tenantField) return undefined;
    const own = data[m.tenantField];
    return typeof own === "string" && own.length > 0 ? own : hint;
  };

  // ---------------------------------------------------------------------------------- writes

  const sealCreate = (model: string, data: unknown, hint: string | undefined): unknown => {
    if (!isObj(data) || !reach.has(model)) return data;
    const m = meta(model);
    const tenant = tenantOfData(m, data, hint);
    const out = sealNestedIn(m, data, tenant);
    const fields = written(m, out);
    if (fields.length === 0) return out;
    const c = needCipher(m, fields);
    return encryptFields(m, out, { cipher: c, ...(m.tenantField && tenant ? { tenantId: tenant } : {}), operation: "create" });
  };

  const sealUpdate = (model: string, data: unknown, rowId: string | undefined, hint: string | undefined, how: string): unknown => {
    if (!isObj(data) || !reach.has(model)) return data;
    const m = meta(model);
    const tenant = tenantOfData(m, data, hint);
    const out = sealNestedIn(m, data, tenant);
    const fields = written(m, out);
    if (fields.length === 0) return out;
    const c = needCipher(m, fields);
    const pk = pkOf(m);
    if (pk && out[pk] !== undefined) {
      throw new StratumError(
        "ENCRYPTION_FAILED",
        `${m.name}: changing ${pk} in the same update as encrypted fields is not supported (ciphertexts are bound to the row id).`,
        { model: m.name },
      );
    }
    if (rowId === undefined) {
      throw new StratumError(
        "ENCRYPTION_FAILED",
        `${how} writes encrypted field(s) ${fields.join(", ")} of ${m.name} without naming the row by ${pk ?? "its id"}: each ciphertext is bound to its row's id, so update this row with where: { ${pk ?? "id"} } instead.`,
        { model: m.name, fields },
      );
    }
    return encryptFields(m, out, { cipher: c, ...(m.tenantField && tenant ? { tenantId: tenant } : {}), rowId, operation: "update" });
  };

  const refuseBulk = (model: string, data: unknown, how: string): unknown => {
    if (!isObj(data) || !reach.has(model)) return data;
    const m = meta(model);
    const fields = written(m, data);
    if (fields.length > 0) {
      throw new StratumError(
        "ENCRYPTION_FAILED",
        `${how} cannot write encrypted field(s) ${fields.join(", ")} of ${m.name}: each ciphertext is bound to its own row's id, and a bulk update writes one value to many rows. Update the rows one at a time with update({ where: { ${pkOf(m) ?? "id"} } }).`,
        { model: m.name, fields },
      );
    }
    return data;
  };

  /** Seals the nested writes under the relation fields of `data` (a create or update of `m`). */
  const sealNestedIn = (m: StratumModel, data: Obj, tenant: string | undefined): Obj => {
    const rels = relations.get(m.name)!;
    let out: Obj | undefined;
    for (const [field, rel] of rels) {
      const value = data[field];
      if (value === undefined || !reach.has(rel.model)) continue;
      out ??= { ...data };
      out[field] = sealNested(rel, value, tenant, `${m.name}.${field}`);
    }
    return out ?? data;
  };

  const sealNested = (rel: Relation, value: unknown, tenant: string | undefined, path: string): unknown => {
    if (!isObj(value)) return value;
    const out: Obj = { ...value };
    const target = rel.model;
    const m = meta(target);
    for (const [key, v] of Object.entries(value)) {
      switch (key) {
        case "create":
          out[key] = eachOf(v, (d) => sealCreate(target, d, tenant));
          break;
        case "createMany":
          out[key] = isObj(v) ? { ...v, data: eachOf(v["data"], (d) => sealCreate(target, d, tenant)) } : v;
          break;
        case "connectOrCreate":
          out[key] = eachOf(v, (x) => (isObj(x) ? { ...x, create: sealCreate(target, x["create"], tenant) } : x));
          break;
        case "upsert":
          out[key] = eachOf(v, (x) =>
            isObj(x)
              ? {
                  ...x,
                  create: sealCreate(target, x["create"], tenant),
                  update: sealUpdate(target, x["update"], rowIdFrom(m, x["where"]), tenant, `The nested upsert at ${path}`),
                }
              : x,
          );
          break;
        case "update":
          out[key] = rel.isList
            ? eachOf(v, (x) => (isObj(x) ? { ...x, data: sealUpdate(target, x["data"], rowIdFrom(m, x["where"]), tenant, `The nested update at ${path}`) } : x))
            : isObj(v) && "data" in v && Object.keys(v).every((k) => NESTED_UPDATE_KEYS.has(k))
              ? { ...v, data: sealUpdate(target, v["data"], rowIdFrom(m, v["where"]), tenant, `The nested update at ${path}`) }
              : sealUpdate(target, v, undefined, tenant, `The nested update at ${path}`);
          break;
        case "updateMany":
          out[key] = eachOf(v, (x) => (isObj(x) ? { ...x, data: refuseBulk(target, x["data"], `The nested updateMany at ${path}`) } : x));
          break;
        default:
          // connect, disconnect, set, delete, deleteMany: no values written.
          break;
      }
    }
    return out;
  };

  // ---------------------------------------------------------------------------------- filters and selections

  const FILTER_OK = new Set(["equals", "not"]);
  const checkWhere = (model: string, where: unknown): void => {
    if (!isObj(where) || !reach.has(model)) return;
    const m = meta(model);
    const rels = relations.get(model)!;
    for (const [key, value] of Object.entries(where)) {
      if (key === "AND" || key === "OR" || key === "NOT") {
        eachOf(value, (w) => checkWhere(model, w));
      } else if (m.encryptedFields.includes(key)) {
        const nullOnly = value === null || value === undefined || (isObj(value) && Object.entries(value).every(([k, v]) => FILTER_OK.has(k) && v === null));
        if (!nullOnly) {
          throw new StratumError(
            "VALIDATION_FAILED",
            `${m.name}.${key} is encrypted: its values are sealed with a random nonce, so the database cannot filter on them. Filter on another field (only null checks work here) and compare after reading.`,
            { model: m.name, field: key },
          );
        }
      } else if (rels.has(key) && isObj(value)) {
        const rel = rels.get(key)!;
        const ops = ["some", "every", "none", "is", "isNot"].filter((k) => k in value);
        if (ops.length > 0) for (const op of ops) checkWhere(rel.model, value[op]);
        else checkWhere(rel.model, value);
      }
    }
  };

  /** Adds the id (and tenant field in a descendants view) where an encrypted field is selected; checks nested filters. */
  const prepareSelection = (model: string, args: Obj, descendants: boolean): Obj => {
    if (!reach.has(model)) return args;
    const m = meta(model);
    const rels = relations.get(model)!;
    let out: Obj = args;
    const set = (key: string, value: unknown) => {
      if (out === args) out = { ...args };
      out[key] = value;
    };
    if ("where" in args) checkWhere(model, args["where"]);
    const needs = () => [pkOf(m), descendants ? m.tenantField : undefined].filter((x): x is string => !!x);
    // A copy only where something changes: most selections name no encrypted field and no relation
    // that reaches one, and go to Prisma as they are.
    const nested = (shape: Obj, selecting: boolean): Obj => {
      let copy: Obj | undefined;
      if (selecting && m.encryptedFields.some((f) => shape[f])) {
        copy = { ...shape };
        for (const n of needs()) if (!copy[n]) copy[n] = true;
      }
      for (const [key, rel] of rels) {
        const value = shape[key];
        if (!isObj(value)) continue;
        const prepared = prepareSelection(rel.model, value, descendants);
        if (prepared !== value) (copy ??= { ...shape })[key] = prepared;
      }
      return copy ?? shape;
    };
    if (isObj(args["select"])) {
      const select = nested(args["select"], true);
      if (select !== args["select"]) set("select", select);
    }
    if (isObj(args["include"])) {
      const include = nested(args["include"], false);
      if (include !== args["include"]) set("include", include);
    }
    if (isObj(args["omit"]) && m.encryptedFields.some((f) => !(args["omit"] as Obj)[f])) {
      const omit = { ...(args["omit"] as Obj) };
      for (const n of needs()) delete omit[n];
      set("omit", omit);
    }
    return out;
  };

  // ---------------------------------------------------------------------------------- reads

  const openValue = (model: string, value: unknown, hint: string | undefined): unknown => {
    if (Array.isArray(value)) return value.map((v) => openValue(model, v, hint));
    if (!isObj(value)) return value;
    const m = meta(model);
    const tenant = m.tenantField ? tenantOfData(m, value, hint) : undefined;
    let out: Obj = value;
    if (cipher && m.encryptedFields.length > 0) {
      out = decryptFields(m, value, { cipher, ...(tenant ? { tenantId: tenant } : {}) });
    }
    for (const [field, rel] of relations.get(model)!) {
      const nested = out[field];
      if (nested === undefined || nested === null || !reach.has(rel.model)) continue;
      if (out === value) out = { ...value };
      out[field] = openValue(rel.model, nested, tenant);
    }
    return out;
  };

  // Results this module already opened: scoped.ts runs a findUnique as a findFirst through the
  // client's own delegate, so the same result can come back through afterOperation twice.
  const opened = new WeakSet<object>();

  return {
    active: true,
    beforeOperation(model, operation, args, scope) {
      if (!reach.has(model) || !isObj(args)) return args;
      const hint = scope.mode === "d" ? undefined : scope.tenantId;
      let a: Obj = prepareSelection(model, args, scope.mode === "d");
      const m = meta(model);
      const set = (key: string, value: unknown) => {
        if (a === args) a = { ...args };
        a[key] = value;
      };
      switch (operation) {
        case "create":
        case "createMany":
        case "createManyAndReturn":
          if ("data" in a)
            set(
              "data",
              eachOf(a["data"], (d) => sealCreate(model, d, hint)),
            );
          break;
        case "update":
          set("data", sealUpdate(model, a["data"], rowIdFrom(m, a["where"]), hint, `${model}.update`));
          break;
        case "upsert":
          set("create", sealCreate(model, a["create"], hint));
          set("update", sealUpdate(model, a["update"], rowIdFrom(m, a["where"]), hint, `${model}.upsert`));
          break;
        case "updateMany":
        case "updateManyAndReturn":
          refuseBulk(model, a["data"], `${model}.${operation}`);
          break;
        case "groupBy": {
          const by = a["by"];
          const hit = m.encryptedFields.filter((f) => (Array.isArray(by) ? by.includes(f) : by === f));
          if (hit.length > 0) {
            throw new StratumError(
              "VALIDATION_FAILED",
              `${model}.groupBy cannot group by encrypted field(s) ${hit.join(", ")}: every sealed value is distinct.`,
              {
                model,
                fields: hit,
              },
            );
          }
          break;
        }
        default:
          break;
      }
      return a;
    },
    afterOperation(model, operation, result, scope) {
      if (!cipher || !reach.has(model) || READS_WITHOUT_ROWS.has(operation)) return result;
      if (result !== null && typeof result === "object" && opened.has(result)) return result;
      const out = openValue(model, result, scope.mode === "d" ? undefined : scope.tenantId);
      if (out !== null && typeof out === "object") opened.add(out);
      return out;
    },
  };
}
