/** `stratum-prisma tenants tree`: the hierarchy, printed (or as nested JSON). */
import type { Command } from "commander";
import type { StratumSdk, TenantRecord } from "../../sdk/index.js";
import { print, sdkFor, withConnection, type OpsOptions } from "./connection.js";

export interface TreeNode {
  id: string;
  slug: string;
  name: string;
  status: string;
  isolation_strategy: string;
  children: TreeNode[];
}

async function roots(s: StratumSdk): Promise<TenantRecord[]> {
  const out: TenantRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await s.tenants.list({ roots: true, limit: 200, ...(cursor ? { cursor } : {}) });
    out.push(...page.data);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return out;
}

/** Nests `tenants` under their parents; `top` are the starting points, in order. */
export function buildTree(top: readonly TenantRecord[], tenants: readonly TenantRecord[]): TreeNode[] {
  const node = (t: TenantRecord): TreeNode => ({
    id: t.id,
    slug: t.slug,
    name: t.name,
    status: t.status,
    isolation_strategy: t.isolation_strategy,
    children: [],
  });
  const nodes = new Map(tenants.map((t) => [t.id, node(t)]));
  for (const t of top) nodes.set(t.id, nodes.get(t.id) ?? node(t));
  for (const t of tenants) if (t.parent_id && nodes.has(t.parent_id)) nodes.get(t.parent_id)!.children.push(nodes.get(t.id)!);
  // Siblings by slug, so the same tree always prints the same way.
  for (const n of nodes.values()) n.children.sort((a, b) => a.slug.localeCompare(b.slug));
  return top.map((t) => nodes.get(t.id)!);
}

const label = (n: TreeNode) =>
  `${n.slug} (${n.name}) ${n.id}${n.status === "active" ? "" : ` [${n.status}]`}${n.isolation_strategy === "SHARED_RLS" ? "" : ` {${n.isolation_strategy}}`}`;

/** Roots flush left, descendants under ├─ / └─ branches. */
export function renderTree(nodes: readonly TreeNode[], prefix = "", top = true): string[] {
  return nodes.flatMap((n, i) => {
    const last = i === nodes.length - 1;
    const branch = top ? "" : last ? "└─ " : "├─ ";
    const below = top ? "" : prefix + (last ? "   " : "│  ");
    return [`${prefix}${branch}${label(n)}`, ...renderTree(n.children, below, false)];
  });
}

const HELP = `
Examples:
  $ npx stratum-prisma tenants tree
  $ npx stratum-prisma tenants tree --root <tenant id> --json
`;

export function registerTenants(program: Command): void {
  const tenants = program.command("tenants").description("look at the tenant hierarchy").addHelpText("after", HELP);
  withConnection(tenants.command("tree").description("print the tenant tree (every root, or one subtree)"))
    .option("--root <id>", "only this tenant's subtree")
    .addHelpText("after", HELP)
    .action(async (o: OpsOptions & { root?: string }) => {
      const s = sdkFor(o);
      const top = o.root ? [await s.tenants.get(o.root)] : await roots(s);
      const below = (await Promise.all(top.map((t) => s.tenants.descendants(t.id)))).flat();
      const tree = buildTree(top, below);
      print(o, tree, () => (tree.length ? renderTree(tree) : ["(no tenants)"]));
    });
}
