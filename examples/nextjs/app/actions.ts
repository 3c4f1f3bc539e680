"use server";
/**
 * Server actions. The tenant never comes from an action's arguments (a browser can call an action
 * with any arguments): it comes from the request's headers, then the action runs inside it.
 */
import { revalidatePath } from "next/cache";
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { getPrisma } from "../lib/stratum";
import { appTenantResolver, isStratumRefusal, runAsRequestTenant, TENANT_COOKIE } from "../lib/tenant";
import { closeTicket, createTicket } from "../lib/tickets";

export interface FormState {
  ok: boolean;
  message: string;
}

/** Runs fn as the request's tenant; stratum refusals become a message for the form. */
async function asTenant(fn: () => Promise<string>): Promise<FormState> {
  try {
    const message = await runAsRequestTenant(appTenantResolver(getPrisma()), await headers(), fn);
    revalidatePath("/");
    return { ok: true, message };
  } catch (error) {
    if (isStratumRefusal(error)) return { ok: false, message: `${error.code}: ${error.message}` };
    throw error;
  }
}

export async function createTicketAction(_previous: FormState, form: FormData): Promise<FormState> {
  return asTenant(async () => {
    const ticket = await createTicket(getPrisma(), { title: String(form.get("title") ?? ""), authorEmail: String(form.get("email") ?? "") });
    return `Created “${ticket.title}”.`;
  });
}

export async function closeTicketAction(_previous: FormState, form: FormData): Promise<FormState> {
  return asTenant(async () => `Closed “${(await closeTicket(getPrisma(), String(form.get("id") ?? ""))).title}”.`);
}

/** The demo's stand-in for a login: remember which tenant this browser acts for. */
export async function chooseTenantAction(form: FormData): Promise<void> {
  const id = String(form.get("tenant_id") ?? "");
  (await cookies()).set(TENANT_COOKIE, id, { httpOnly: true, sameSite: "lax", path: "/" });
  // A fresh render of "/" with the new cookie, so the chosen tenant shows at once (revalidating
  // alone re-renders against the request's old cookies and kept showing the picker).
  redirect("/");
}

export async function forgetTenantAction(): Promise<void> {
  (await cookies()).delete(TENANT_COOKIE);
  redirect("/");
}
