// @vitest-environment jsdom
/** The dashboard's React app in a DOM, against a live dashboard server: tree, MSP view, config, permissions. */
import type { AddressInfo } from "node:net";
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import { userEvent } from "@testing-library/user-event";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DashboardApp } from "../../examples/dashboard/client/App.js";
import { createDashboard, type Dashboard } from "../../examples/dashboard/server.js";
import { createFetchAdminClient } from "../../src/react/index.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { stratumTestClient } from "../support/stratum-client.js";

const KEY = "sk_test_dashboard_example_ui_key";

let db: TestDatabase;
let client: ReturnType<typeof stratumTestClient>;
let dashboard: Dashboard;
let url: string;

beforeAll(async () => {
  db = await createTestDatabase({ label: "ex_dash_ui" });
  client = stratumTestClient(db);
  dashboard = await createDashboard({ prisma: client.prisma, apiKey: KEY, seed: { schemaTenants: true } });
  await dashboard.app.listen({ port: 0, host: "127.0.0.1" });
  url = `http://127.0.0.1:${(dashboard.app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  cleanup();
  await dashboard?.app.close();
  await client?.close();
  await db?.drop();
});

describe("examples/dashboard React app", () => {
  it("shows the seeded tree; selecting a tenant shows its MSP view, config and permissions", async () => {
    const user = userEvent.setup();
    render(<DashboardApp client={createFetchAdminClient({ controlPlaneUrl: url, apiKey: KEY })} baseUrl={url} apiKey={KEY} />);
    const root = await screen.findByRole("treeitem", { name: "AcmeSec" });
    await user.click(within(root).getAllByText("▸")[0]!);
    const north = await screen.findByRole("treeitem", { name: "NorthStar MSP" });
    await screen.findByRole("treeitem", { name: "SouthWind MSP" });

    await user.click(within(north).getByText("NorthStar MSP"));
    const panel = await screen.findByRole("region", { name: "MSP view of NorthStar MSP" });
    const alphaRow = within(panel).getByRole("row", { name: /Client Alpha/ });
    expect(within(alphaRow).getAllByRole("cell").map((c) => c.textContent)).toEqual(["SHARED_RLS", "3", "1", "4"]);
    expect(within(panel).getByRole("row", { name: /Client Beta/ }).textContent).toContain("SCHEMA");
    expect(within(panel).queryByText("Client Gamma")).toBeNull();
    expect(within(panel).getByTestId("total").textContent).toBe("8");

    // The admin components for the same tenant: inherited config and the root's locked permission.
    await screen.findByRole("region", { name: "Config of NorthStar MSP" });
    await waitFor(() => expect(screen.getAllByText("max_users").length).toBeGreaterThan(0));
    await waitFor(() => expect(screen.getAllByText("manage_users").length).toBeGreaterThan(0));

    // Selecting the root switches the MSP view to the whole tree.
    await user.click(within(root).getAllByText("AcmeSec")[0]!);
    const rootPanel = await screen.findByRole("region", { name: "MSP view of AcmeSec" });
    await waitFor(() => expect(within(rootPanel).getByTestId("total").textContent).toBe("15"));
    expect(within(rootPanel).getByText("Client Gamma")).toBeTruthy();
  });
});
