// @vitest-environment jsdom
/** Moving tenants in the tree by keyboard (Ctrl+X, go, Ctrl+V), against a live control plane. */
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { userEvent } from "@testing-library/user-event";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createFetchAdminClient, invalidate, TenantTree, type StratumOperatorClient, type TenantRecord } from "../../src/react/index.js";
import { BOOTSTRAP, reactFixture, type ReactFixture } from "./support.js";

let f: ReactFixture;
let client: StratumOperatorClient;
let southwind: string;
let beta: string;

beforeAll(async () => {
  f = await reactFixture("react_tree_move");
  southwind = (await f.prisma.$stratum.createTenant({ name: "SouthWind MSP", slug: "southwind_msp", parent_id: f.root.id })).id;
  beta = (await f.prisma.$stratum.createTenant({ name: "Client Beta", slug: "client_beta", parent_id: f.msp.id })).id;
  client = createFetchAdminClient({ controlPlaneUrl: f.url, apiKey: BOOTSTRAP });
});
afterEach(cleanup);
afterAll(async () => {
  await f?.close();
});

const item = (name: string) => screen.findByRole("treeitem", { name });
const parentOf = async (id: string) => (await f.prisma.$stratum.getTenant(id)).parent_id;

/** The dashboard's handler in miniature: move, then mark tenants stale so the tree re-reads. */
function movingTree(calls: Array<[string, string]>) {
  const onMove = async (tenant: TenantRecord, parent: TenantRecord) => {
    calls.push([tenant.name, parent.name]);
    await client.moveTenant(tenant.id, parent.id);
    invalidate(client, "tenants");
  };
  render(<TenantTree client={client} onMove={onMove} />);
}

/** Opens AcmeSec and NorthStar MSP with the keyboard; leaves focus on NorthStar MSP. */
async function openToClients(user: ReturnType<typeof userEvent.setup>) {
  await item("AcmeSec");
  await user.tab();
  await user.keyboard("{ArrowRight}");
  await item("NorthStar MSP");
  await user.keyboard("{ArrowRight}{ArrowRight}");
  await item("Client Beta");
}

describe("TenantTree moves", () => {
  it("Ctrl+X on a client, arrow keys to another MSP, Ctrl+V: moved, redrawn there, focus follows", async () => {
    const user = userEvent.setup();
    const calls: Array<[string, string]> = [];
    movingTree(calls);
    await openToClients(user);
    await user.keyboard("{ArrowDown}{ArrowDown}"); // Client Alpha, Client Beta
    expect(document.activeElement).toBe(await item("Client Beta"));
    await user.keyboard("{Control>}x{/Control}");
    await screen.findByText("Client Beta picked up. Go to its new parent and press Ctrl+V; Escape cancels.");
    expect((await item("Client Beta")).className).toContain("stratum-tree-item--moving");

    await user.keyboard("{End}"); // SouthWind MSP, the last visible item
    expect(document.activeElement).toBe(await item("SouthWind MSP"));
    await user.keyboard("{Control>}v{/Control}");
    await screen.findByText("Client Beta is now under SouthWind MSP.");
    expect(calls).toEqual([["Client Beta", "SouthWind MSP"]]);
    expect(await parentOf(beta)).toBe(southwind);
    // Redrawn under SouthWind MSP (opened for it), and still the focused item.
    await waitFor(() => {
      const items = screen.getAllByRole("treeitem");
      const at = items.findIndex((el) => el.dataset["tenantId"] === beta);
      expect(items[at - 1]?.dataset["tenantId"]).toBe(southwind);
      expect(document.activeElement).toBe(items[at]);
    });
    await f.prisma.$stratum.moveTenant(beta, f.msp.id);
  });

  it("refuses a drop into the tenant's own subtree or onto its parent, and Escape puts it back", async () => {
    const user = userEvent.setup();
    const calls: Array<[string, string]> = [];
    movingTree(calls);
    await openToClients(user);
    await user.keyboard("{Control>}x{/Control}"); // NorthStar MSP
    await user.keyboard("{ArrowDown}{Control>}v{/Control}"); // onto its own client
    await screen.findByText("NorthStar MSP cannot move under itself or its own subtree. Choose another parent, or press Escape.");
    expect((await item("NorthStar MSP")).className).toContain("stratum-tree-item--moving");
    await user.keyboard("{ArrowDown}{Control>}x{/Control}{ArrowLeft}{Control>}v{/Control}"); // Client Beta onto NorthStar MSP
    await screen.findByText("Client Beta is already under NorthStar MSP. Choose another parent, or press Escape.");
    await user.keyboard("{Escape}");
    await screen.findByText("Client Beta put back; nothing moved.");
    expect((await item("Client Beta")).className).not.toContain("stratum-tree-item--moving");
    expect(calls).toEqual([]);
    expect(await parentOf(f.msp.id)).toBe(f.root.id);
  });

  it("without onMove the keys do nothing and rows are not draggable", async () => {
    const user = userEvent.setup();
    render(<TenantTree client={client} />);
    await openToClients(user);
    await user.keyboard("{Control>}x{/Control}");
    expect(screen.queryByRole("status")).toBeNull();
    expect((await item("NorthStar MSP")).querySelector("[draggable=true]")).toBeNull();
  });
});
