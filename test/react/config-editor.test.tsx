// @vitest-environment jsdom
/** The config editor against a live control plane: sources, edits that reach the server, locks, secrets. */
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import { userEvent } from "@testing-library/user-event";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConfigEditor } from "../../src/react/index.js";
import { reactFixture, type ReactFixture } from "./support.js";

let f: ReactFixture;

beforeAll(async () => {
  f = await reactFixture("react_config");
  const s = f.prisma.$stratum;
  await s.setConfig(f.root.id, "max_users", { value: 1000, locked: false });
  await s.setConfig(f.root.id, "theme", { value: "dark", locked: true });
  await s.setConfig(f.msp.id, "max_users", { value: 500 });
  await s.setConfig(f.msp.id, "smtp_password", { value: "hunter2", sensitive: true });
});
afterEach(cleanup);
afterAll(async () => {
  await f?.close();
});

/** The table row of a key (its header cell starts the row's text). */
async function row(key: string) {
  const table = await screen.findByRole("table", { name: /^Config of / });
  return within(table).getByRole("row", { name: new RegExp(`^${key} `) });
}

describe("ConfigEditor", () => {
  it("shows each key's value and where it comes from: inherited from the nearest setter, or locked by an ancestor", async () => {
    render(<ConfigEditor client={f.client()} tenantId={f.alpha.id} />);
    expect(screen.getByRole("status").textContent).toContain("Loading config");

    const maxUsers = await row("max_users");
    expect(within(maxUsers).getByText("500")).toBeTruthy();
    expect(within(maxUsers).getByText("Inherited from NorthStar MSP")).toBeTruthy();
    expect(within(maxUsers).getByRole("button", { name: "Override max_users" })).toBeTruthy();

    const theme = await row("theme");
    expect(within(theme).getByText('"dark"')).toBeTruthy();
    expect(within(theme).getByText("Inherited from AcmeSec")).toBeTruthy();
    expect(within(theme).getByText("Locked by AcmeSec")).toBeTruthy();
    expect(within(theme).getByText("Read-only: locked by AcmeSec")).toBeTruthy();
    // Read-only: no control changes it.
    expect(within(theme).queryAllByRole("button")).toHaveLength(0);
  });

  it("shows sensitive values redacted, never the secret", async () => {
    render(<ConfigEditor client={f.client()} tenantId={f.msp.id} />);
    const secret = await row("smtp_password");
    expect(within(secret).getByText("•••••• (sensitive, hidden)")).toBeTruthy();
    expect(within(secret).getByText("sensitive")).toBeTruthy();
    expect(document.body.textContent).not.toContain("hunter2");
    // Locking would re-send a value this page never had.
    expect((within(secret).getByRole("button", { name: "Lock smtp_password" }) as HTMLButtonElement).disabled).toBe(true);
    expect(within(secret).getByRole("button", { name: "Edit smtp_password" }).textContent).toBe("Replace");
  });

  it("overrides an inherited value, edits it with JSON validation, and deletes the override (each round-trips to the server)", async () => {
    const user = userEvent.setup();
    render(<ConfigEditor client={f.client()} tenantId={f.alpha.id} />);

    await user.click(within(await row("max_users")).getByRole("button", { name: "Override max_users" }));
    const input = screen.getByLabelText("Value of max_users");
    await user.clear(input);
    await user.type(input, "42x");
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByText(/^Not valid JSON/)).toBeTruthy();
    expect((screen.getByRole("button", { name: "Save" }) as HTMLButtonElement).disabled).toBe(true);
    await user.type(input, "{Backspace}");
    expect(input.getAttribute("aria-invalid")).toBe("false");
    await user.click(screen.getByRole("button", { name: "Save" }));

    await waitFor(async () => expect(within(await row("max_users")).queryByText("Own value")).toBeTruthy());
    expect(within(await row("max_users")).getByText("42")).toBeTruthy();
    expect((await f.prisma.$stratum.resolveConfig(f.alpha.id)).max_users).toEqual({ value: 42, inherited: false, locked: false, source_tenant_id: f.alpha.id });

    await user.click(within(await row("max_users")).getByRole("button", { name: "Edit max_users" }));
    const edit = screen.getByLabelText("Value of max_users");
    expect((edit as HTMLTextAreaElement).value).toBe("42");
    await user.clear(edit);
    await user.type(edit, '{{"soft": 40, "hard": 45}');
    await user.click(screen.getByRole("button", { name: "Save" }));
    // jsonb stores object keys sorted, and the table shows what the server stored.
    await waitFor(async () => expect(within(await row("max_users")).queryByText('{"hard":45,"soft":40}')).toBeTruthy());
    expect((await f.prisma.$stratum.resolveConfig(f.alpha.id)).max_users?.value).toEqual({ soft: 40, hard: 45 });

    await user.click(within(await row("max_users")).getByRole("button", { name: "Delete override of max_users" }));
    await waitFor(async () => expect(within(await row("max_users")).queryByText("Inherited from NorthStar MSP")).toBeTruthy());
    expect((await f.prisma.$stratum.resolveConfig(f.alpha.id)).max_users).toEqual({ value: 500, inherited: true, locked: false, source_tenant_id: f.msp.id });
  });

  it("shows the server's CONFIG_LOCKED answer when setting a key an ancestor locked, and writes nothing", async () => {
    const user = userEvent.setup();
    render(<ConfigEditor client={f.client()} tenantId={f.alpha.id} />);
    await row("theme");
    await user.type(screen.getByLabelText("Key"), "theme");
    await user.type(screen.getByLabelText("Value (JSON)"), '"light"');
    await user.click(screen.getByRole("button", { name: "Set key" }));

    const alert = await screen.findByRole("alert");
    expect(within(alert).getByText("CONFIG_LOCKED")).toBeTruthy();
    expect(alert.textContent).toContain(f.root.id);
    expect((await f.prisma.$stratum.getConfig(f.alpha.id)).theme).toBeUndefined();
    expect((await f.prisma.$stratum.resolveConfig(f.alpha.id)).theme?.value).toBe("dark");
  });

  it("adds a key and locks it, which makes it read-only below", async () => {
    const user = userEvent.setup();
    const client = f.client();
    const { unmount } = render(<ConfigEditor client={client} tenantId={f.msp.id} />);
    await row("max_users");
    await user.type(screen.getByLabelText("Key"), "region");
    await user.type(screen.getByLabelText("Value (JSON)"), '"eu"');
    await user.click(screen.getByRole("button", { name: "Set key" }));
    await waitFor(async () => expect(within(await row("region")).queryByText("Own value")).toBeTruthy());
    expect((await f.prisma.$stratum.resolveConfig(f.alpha.id)).region).toEqual({ value: "eu", inherited: true, locked: false, source_tenant_id: f.msp.id });

    await user.click(within(await row("region")).getByRole("button", { name: "Lock region" }));
    await waitFor(async () =>
      expect(
        within(await row("region"))
          .getByRole("button", { name: "Unlock region" })
          .getAttribute("aria-pressed"),
      ).toBe("true"),
    );
    expect((await f.prisma.$stratum.resolveConfig(f.alpha.id)).region?.locked).toBe(true);
    unmount();

    render(<ConfigEditor client={client} tenantId={f.alpha.id} />);
    const region = await row("region");
    expect(within(region).getByText("Locked by NorthStar MSP")).toBeTruthy();
    expect(within(region).queryAllByRole("button")).toHaveLength(0);
  });
});
