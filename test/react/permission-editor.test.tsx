// @vitest-environment jsdom
/** The permission editor against a live control plane: modes, sources, grants and confirmed revocations. */
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import { userEvent } from "@testing-library/user-event";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PermissionEditor } from "../../src/react/index.js";
import { reactFixture, type ReactFixture } from "./support.js";

let f: ReactFixture;

beforeAll(async () => {
  f = await reactFixture("react_perms");
  const s = f.prisma.$stratum;
  await s.createPermission(f.root.id, { key: "manage_users", value: true, mode: "LOCKED", revocation_mode: "CASCADE" });
  // MSP grants two keys its clients may override; Client Alpha overrides both.
  await s.createPermission(f.msp.id, { key: "export", value: { limit: 50 }, mode: "INHERITED", revocation_mode: "SOFT" });
  await s.createPermission(f.alpha.id, { key: "export", value: { limit: 10 }, mode: "INHERITED" });
  await s.createPermission(f.msp.id, { key: "reports", value: true, mode: "INHERITED", revocation_mode: "SOFT" });
  await s.createPermission(f.alpha.id, { key: "reports", value: false, mode: "INHERITED" });
});
afterEach(cleanup);
afterAll(async () => {
  await f?.close();
});

async function row(key: string) {
  const table = await screen.findByRole("table", { name: /^Permissions of / });
  return within(table).getByRole("row", { name: new RegExp(`^${key} `) });
}
const resolved = (tenantId: string) => f.prisma.$stratum.resolvePermissions(tenantId);

describe("PermissionEditor", () => {
  it("shows resolved permissions with mode and source; a LOCKED grant from above is read-only", async () => {
    render(<PermissionEditor client={f.client()} tenantId={f.alpha.id} />);
    const manage = await row("manage_users");
    expect(within(manage).getByText("LOCKED")).toBeTruthy();
    expect(within(manage).getByText("Inherited from AcmeSec")).toBeTruthy();
    expect(within(manage).getByText("Read-only: locked by AcmeSec")).toBeTruthy();
    expect(within(manage).queryAllByRole("button")).toHaveLength(0);

    const exp = await row("export");
    expect(within(exp).getByText('{"limit":10}')).toBeTruthy();
    expect(within(exp).getByText("Own grant")).toBeTruthy();
    expect(within(exp).getByText("INHERITED")).toBeTruthy();
    expect(within(exp).getByRole("button", { name: "Revoke export" })).toBeTruthy();
  });

  it("grants a permission with a mode and revocation mode, which the child then resolves; a refused grant shows the server's code", async () => {
    const user = userEvent.setup();
    render(<PermissionEditor client={f.client()} tenantId={f.msp.id} />);
    await row("export");
    await user.type(screen.getByLabelText("Permission key"), "billing");
    await user.selectOptions(screen.getByLabelText("Mode"), "LOCKED");
    await user.selectOptions(screen.getByLabelText("Revocation mode"), "PERMANENT");
    await user.click(screen.getByRole("button", { name: "Grant" }));

    // The notice comes once the table has re-read, so the row is there by then.
    await waitFor(() => expect(screen.getByRole("status").textContent).toBe("Granted billing."));
    const billing = await row("billing");
    expect(within(billing).getByText("LOCKED")).toBeTruthy();
    expect(within(billing).getByText("revocation: PERMANENT")).toBeTruthy();
    expect((await resolved(f.alpha.id)).billing).toEqual({
      key: "billing",
      value: true,
      mode: "LOCKED",
      source_tenant_id: f.msp.id,
      locked: true,
      delegated: false,
    });
    cleanup();

    render(<PermissionEditor client={f.client()} tenantId={f.alpha.id} />);
    await row("billing");
    await user.type(screen.getByLabelText("Permission key"), "billing");
    await user.click(screen.getByRole("button", { name: "Grant" }));
    const alert = await screen.findByRole("alert");
    expect(within(alert).getByText("PERMISSION_LOCKED")).toBeTruthy();
    expect((await f.prisma.$stratum.listPermissions(f.alpha.id)).some((g) => g.key === "billing")).toBe(false);
  });

  it("revokes only after confirmation; SOFT keeps the child's override", async () => {
    const user = userEvent.setup();
    render(<PermissionEditor client={f.client()} tenantId={f.msp.id} />);
    await user.click(within(await row("export")).getByRole("button", { name: "Revoke export" }));
    const dialog = screen.getByRole("alertdialog", { name: "Revoke export at NorthStar MSP?" });
    expect(document.activeElement).toBe(within(dialog).getByRole("button", { name: "Cancel" }));
    expect((within(dialog).getByRole("radio", { name: /^SOFT/ }) as HTMLInputElement).checked).toBe(true);
    // Nothing happened yet.
    expect((await resolved(f.msp.id)).export?.source_tenant_id).toBe(f.msp.id);
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect((await resolved(f.msp.id)).export?.source_tenant_id).toBe(f.msp.id);

    await user.click(within(await row("export")).getByRole("button", { name: "Revoke export" }));
    await user.click(screen.getByRole("button", { name: "Confirm revoke (SOFT)" }));
    await waitFor(() => expect(screen.getByRole("status").textContent).toBe("Revoked export (SOFT): 1 grant removed."));
    expect(screen.queryByRole("row", { name: /^export / })).toBeNull();

    expect((await resolved(f.msp.id)).export).toBeUndefined();
    expect((await resolved(f.alpha.id)).export).toEqual({
      key: "export",
      value: { limit: 10 },
      mode: "INHERITED",
      source_tenant_id: f.alpha.id,
      locked: false,
      delegated: false,
    });
  });

  it("CASCADE chosen at confirmation (over the grant's SOFT) also deletes the child's override", async () => {
    const user = userEvent.setup();
    expect((await resolved(f.alpha.id)).reports?.value).toBe(false);
    render(<PermissionEditor client={f.client()} tenantId={f.msp.id} />);
    await user.click(within(await row("reports")).getByRole("button", { name: "Revoke reports" }));
    const dialog = screen.getByRole("alertdialog");
    await user.click(within(dialog).getByRole("radio", { name: /^CASCADE/ }));
    expect(within(dialog).getByText(/^CASCADE: removes this grant and every override/)).toBeTruthy();
    await user.click(within(dialog).getByRole("button", { name: "Confirm revoke (CASCADE)" }));
    await waitFor(() => expect(screen.getByRole("status").textContent).toBe("Revoked reports (CASCADE): 2 grants removed."));

    expect((await resolved(f.msp.id)).reports).toBeUndefined();
    expect((await resolved(f.alpha.id)).reports).toBeUndefined();
    expect((await f.prisma.$stratum.listPermissions(f.alpha.id)).some((g) => g.key === "reports")).toBe(false);
  });

  it("PERMANENT leaves a tombstone the editor lists, and later grants below are refused", async () => {
    const user = userEvent.setup();
    render(<PermissionEditor client={f.client()} tenantId={f.msp.id} />);
    await user.click(within(await row("billing")).getByRole("button", { name: "Revoke billing" }));
    await user.click(screen.getByRole("button", { name: "Confirm revoke (PERMANENT)" }));
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("tombstone left"));
    expect(screen.getByText(/permanently revoked here on/)).toBeTruthy();
    await expect(f.prisma.$stratum.createPermission(f.alpha.id, { key: "billing", value: true, mode: "INHERITED" })).rejects.toMatchObject({
      code: "PERMISSION_REVOKED",
    });
  });
});
