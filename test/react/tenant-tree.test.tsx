// @vitest-environment jsdom
/** The tenant tree against a live control plane: lazy children, badges, WAI-ARIA keyboard use. */
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import { userEvent } from "@testing-library/user-event";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { adminClientFromSdk, createFetchAdminClient, TenantTree, type TenantRecord } from "../../src/react/index.js";
import { stratum } from "../../src/sdk/index.js";
import { BOOTSTRAP, reactFixture, recordingFetch, type ReactFixture } from "./support.js";

let f: ReactFixture;
let beta: string;

beforeAll(async () => {
  f = await reactFixture("react_tree");
  beta = (await f.prisma.$stratum.createTenant({ name: "Client Beta", slug: "client_beta", parent_id: f.msp.id })).id;
  await f.prisma.$stratum.suspendTenant(beta);
});
afterEach(cleanup);
afterAll(async () => {
  await f?.close();
});

const item = (name: string) => screen.findByRole("treeitem", { name });

describe("TenantTree", () => {
  it("shows the top tenant first and fetches children one level ahead of what is shown", async () => {
    const rec = recordingFetch();
    render(<TenantTree client={f.client(rec.fetch)} />);
    const root = await item("AcmeSec");
    // One level ahead: the root's children are fetched so it is known to be a branch (a leaf shows no expander).
    await waitFor(() => expect(rec.calls).toContain(`GET /api/v1/tenants/${f.root.id}/children`));
    expect(root.getAttribute("aria-expanded")).toBe("false");
    expect(screen.queryByRole("treeitem", { name: "NorthStar MSP" })).toBeNull();
    expect(rec.calls.filter((c) => c.endsWith("/children"))).toEqual([`GET /api/v1/tenants/${f.root.id}/children`]);

    await userEvent.setup().click(within(root).getAllByText("▸")[0]!);
    const msp = await item("NorthStar MSP");
    expect(root.getAttribute("aria-expanded")).toBe("true");
    expect(msp.getAttribute("aria-level")).toBe("2");
    // Opening the root looks ahead into the MSP; the clients' children wait until the MSP opens.
    await waitFor(() => expect(rec.calls).toContain(`GET /api/v1/tenants/${f.msp.id}/children`));
    expect(rec.calls.filter((c) => c.endsWith(`${f.root.id}/children`))).toHaveLength(1);
  });

  it("moves with the arrow keys, opens and closes branches, selects with Enter (one tab stop)", async () => {
    const user = userEvent.setup();
    const selected: TenantRecord[] = [];
    render(<TenantTree client={f.client()} onSelect={(t) => selected.push(t)} />);
    const root = await item("AcmeSec");
    expect(screen.getAllByRole("treeitem").filter((el) => el.tabIndex === 0)).toHaveLength(1);

    await user.tab();
    expect(document.activeElement).toBe(root);
    await user.keyboard("{ArrowRight}"); // opens AcmeSec
    const msp = await item("NorthStar MSP");
    await user.keyboard("{ArrowRight}"); // into the open branch: first child
    expect(document.activeElement).toBe(msp);
    await user.keyboard("{ArrowRight}"); // opens NorthStar MSP
    const alpha = await item("Client Alpha");
    await item("Client Beta");
    await user.keyboard("{ArrowDown}");
    expect(document.activeElement).toBe(alpha);
    expect(alpha.getAttribute("aria-level")).toBe("3");
    expect(alpha.getAttribute("aria-setsize")).toBe("2");

    // Client Alpha has no children: ArrowRight learns that and leaves it a leaf.
    await user.keyboard("{ArrowRight}");
    await waitFor(() => expect(alpha.hasAttribute("aria-expanded")).toBe(false));

    await user.keyboard("{Enter}");
    expect(selected.map((t) => t.id)).toEqual([f.alpha.id]);
    expect(alpha.tabIndex).toBe(0);
    expect(root.tabIndex).toBe(-1);

    await user.keyboard("{ArrowLeft}"); // to the parent
    expect(document.activeElement).toBe(msp);
    await user.keyboard("{ArrowLeft}"); // closes it
    expect(msp.getAttribute("aria-expanded")).toBe("false");
    expect(screen.queryByRole("treeitem", { name: "Client Alpha" })).toBeNull();
    await user.keyboard("{End}");
    expect(document.activeElement).toBe(msp);
    await user.keyboard("{Home}");
    expect(document.activeElement).toBe(root);
    await user.keyboard("{ArrowUp}"); // nothing above the first item
    expect(document.activeElement).toBe(root);
    await user.keyboard(" ");
    expect(selected.map((t) => t.id)).toEqual([f.alpha.id, f.root.id]);
  });

  it("marks the selected tenant and shows status and isolation badges", async () => {
    const user = userEvent.setup();
    render(<TenantTree client={f.client()} rootId={f.msp.id} selectedId={beta} />);
    const msp = await item("NorthStar MSP");
    expect(screen.queryByRole("treeitem", { name: "AcmeSec" })).toBeNull();
    expect(msp.getAttribute("aria-level")).toBe("1");
    await user.click(within(msp).getAllByText("▸")[0]!);
    const b = await item("Client Beta");
    expect(b.getAttribute("aria-selected")).toBe("true");
    expect((await item("Client Alpha")).getAttribute("aria-selected")).toBe("false");
    // The badges are the item's description: status and isolation strategy as the server has them.
    expect(b.getAttribute("aria-describedby")).toBeTruthy();
    const badges = document.getElementById(b.getAttribute("aria-describedby")!)!;
    expect(badges.textContent).toContain("suspended");
    expect(badges.textContent).toContain("shared RLS");
  });

  it("works over the SDK client too, and shows the server's error for an unknown root", async () => {
    const sdk = stratum({ controlPlaneUrl: f.url, apiKey: BOOTSTRAP });
    render(<TenantTree client={adminClientFromSdk(sdk)} rootId={f.root.id} />);
    expect(await item("AcmeSec")).toBeTruthy();

    render(<TenantTree client={f.client()} rootId="00000000-0000-4000-8000-000000000000" />);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("TENANT_NOT_FOUND");
    expect(within(alert).getByRole("button", { name: "Retry" })).toBeTruthy();
  });

  it("starts at the key's own tenant for a key limited to a subtree", async () => {
    const { key } = await f.prisma.$stratum.createApiKey({ name: "msp admin", scopes: ["tenants:read"], tenant_id: f.msp.id });
    render(<TenantTree client={createFetchAdminClient({ controlPlaneUrl: f.url, apiKey: key })} />);
    const msp = await item("NorthStar MSP");
    expect(msp.getAttribute("aria-level")).toBe("1");
    expect(screen.queryByRole("treeitem", { name: "AcmeSec" })).toBeNull();
    expect(screen.getAllByRole("treeitem")).toHaveLength(1);
  });
});
