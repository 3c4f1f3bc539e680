// @vitest-environment jsdom
/** The inheritance view against a live control plane: the chain root → tenant for every key. */
import { cleanup, render, screen, within } from "@testing-library/react";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { InheritanceView } from "../../src/react/index.js";
import { reactFixture, type ReactFixture } from "./support.js";

let f: ReactFixture;

beforeAll(async () => {
  f = await reactFixture("react_inherit");
  const s = f.prisma.$stratum;
  await s.setConfig(f.root.id, "max_users", { value: 1000 });
  await s.setConfig(f.msp.id, "max_users", { value: 500 });
  // MSP set a theme before the root locked one: MSP's row stays, but the lock blocks it.
  await s.setConfig(f.msp.id, "theme", { value: "blue" });
  await s.setConfig(f.root.id, "theme", { value: "dark", locked: true });
  await s.setConfig(f.alpha.id, "timezone", { value: "Europe/Paris" });
});
afterEach(cleanup);
afterAll(async () => {
  await f?.close();
});

/** The chain of a key as the user reads it: one line per tenant, root first. */
async function chain(key: string): Promise<string[]> {
  const region = await screen.findByRole("region", { name: `Inheritance of ${key}` });
  const list = within(region).getByRole("list", { name: `Chain of ${key}, root first` });
  return within(list)
    .getAllByRole("listitem")
    .map((li) => li.textContent ?? "");
}

describe("InheritanceView", () => {
  it("shows where a value is set, overridden and inherited, and which tenant wins", async () => {
    render(<InheritanceView client={f.client()} tenantId={f.alpha.id} />);
    expect(await chain("max_users")).toEqual(["AcmeSec: sets 1000", "NorthStar MSP: overrides with 500 effective", "Client Alpha: inherits"]);
    const region = screen.getByRole("region", { name: "Inheritance of max_users" });
    expect(within(region).getByText("Client Alpha gets 500 from NorthStar MSP")).toBeTruthy();
    // The viewed tenant is marked as the current step.
    expect(within(region).getAllByRole("listitem")[2]!.getAttribute("aria-current")).toBe("true");
  });

  it("shows a value blocked by an ancestor's lock, and the lock's value winning", async () => {
    render(<InheritanceView client={f.client()} tenantId={f.alpha.id} />);
    expect(await chain("theme")).toEqual([
      'AcmeSec: sets "dark" locks effective',
      'NorthStar MSP: "blue" blocked by the lock at AcmeSec',
      "Client Alpha: inherits (locked by AcmeSec)",
    ]);
    expect(within(screen.getByRole("region", { name: "Inheritance of theme" })).getByText('Client Alpha gets "dark" from AcmeSec (locked)')).toBeTruthy();
    // The server agrees with what the view shows.
    const resolved = await f.prisma.$stratum.resolveConfig(f.alpha.id);
    expect(resolved.theme).toMatchObject({ value: "dark", locked: true, source_tenant_id: f.root.id });
  });

  it("shows keys set only at the tenant, and for an ancestor stops at that ancestor", async () => {
    render(<InheritanceView client={f.client()} tenantId={f.alpha.id} />);
    expect(await chain("timezone")).toEqual(["AcmeSec: not set", "NorthStar MSP: not set", 'Client Alpha: sets "Europe/Paris" effective']);
    cleanup();

    render(<InheritanceView client={f.client()} tenantId={f.msp.id} />);
    expect(await chain("max_users")).toEqual(["AcmeSec: sets 1000", "NorthStar MSP: overrides with 500 effective"]);
    expect(screen.queryByRole("region", { name: "Inheritance of timezone" })).toBeNull();
  });

  it("shows the server's error for a tenant that does not exist", async () => {
    render(<InheritanceView client={f.client()} tenantId="00000000-0000-4000-8000-000000000000" />);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("TENANT_NOT_FOUND");
  });
});
