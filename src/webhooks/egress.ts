/**
 * Where a webhook may be delivered. A tenant's administrator chooses the URL, so without a check a
 * webhook is a server-side request forgery: it could reach the deployment's own network (cloud
 * metadata at 169.254.169.254, databases, admin ports) and report the answer back in the delivery
 * log. Every address the host resolves to must be public: IP literals are refused at
 * registration, names are resolved and checked again before each delivery (a name can be
 * re-pointed after registration). Redirects are never followed (the worker sends
 * `redirect: "manual"`), so a public receiver cannot bounce a delivery inward.
 *
 * Residual: the check resolves the name, then fetch resolves it again; a DNS answer that changes
 * between the two (rebinding with a zero TTL) is not caught here. Run the worker behind an egress
 * proxy where that matters.
 */
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

/** Loopback, private, link-local, carrier-grade NAT, benchmark, multicast and reserved ranges. */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  PRIVATE.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 127],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  PRIVATE.addSubnet(network, prefix, "ipv6");
}

export interface EgressPolicy {
  /** Deliver to private and loopback addresses too (development, tests, a trusted internal receiver). */
  allowPrivateNetworks?: boolean;
  /** Host names delivered to whatever they resolve to (an internal receiver you operate). */
  allowHosts?: readonly string[];
}

/** True for an address no tenant's webhook should reach. IPv4-mapped IPv6 is judged by its IPv4. */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return PRIVATE.check(mapped[1]!, "ipv4");
  const family = isIP(bare);
  if (family === 4) return PRIVATE.check(bare, "ipv4");
  if (family === 6) return PRIVATE.check(bare, "ipv6");
  return false;
}

/** The hostname as the URL parser leaves it, without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
}

function exempt(url: URL, policy: EgressPolicy): boolean {
  return policy.allowPrivateNetworks === true || (policy.allowHosts ?? []).some((h) => h.toLowerCase() === hostOf(url));
}

/** Registration-time check (no DNS): an IP literal must be public. Returns the reason to refuse. */
export function literalRefusal(url: URL, policy: EgressPolicy): string | undefined {
  if (exempt(url, policy)) return undefined;
  const host = hostOf(url);
  if (host === "localhost" || host.endsWith(".localhost")) return `${host} is a loopback name`;
  return isIP(host) && isPrivateAddress(host) ? `${host} is a private or loopback address` : undefined;
}

export type Resolve = (host: string) => Promise<Array<{ address: string }>>;

const resolveAll: Resolve = (host) => lookup(host, { all: true, verbatim: true });

/**
 * Delivery-time check: every address the host resolves to must be public. Returns the reason to
 * refuse, or undefined when the destination may be reached.
 */
export async function destinationRefusal(target: string, policy: EgressPolicy, resolve: Resolve = resolveAll): Promise<string | undefined> {
  const url = new URL(target);
  if (exempt(url, policy)) return undefined;
  const literal = literalRefusal(url, policy);
  if (literal) return literal;
  const host = hostOf(url);
  if (isIP(host)) return undefined;
  let addresses: Array<{ address: string }>;
  try {
    addresses = await resolve(host);
  } catch (error) {
    return `${host} does not resolve (${(error as { code?: string }).code ?? (error as Error).message})`;
  }
  const inward = addresses.filter((a) => isPrivateAddress(a.address)).map((a) => a.address);
  return inward.length > 0 ? `${host} resolves to private or loopback address ${inward.join(", ")}` : undefined;
}
