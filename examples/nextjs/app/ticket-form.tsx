"use client";
/** The forms that call the server actions; useActionState shows each action's answer. */
import { useActionState } from "react";
import { closeTicketAction, createTicketAction, type FormState } from "./actions";

const initial: FormState = { ok: true, message: "" };

function Status({ state }: { state: FormState }) {
  if (!state.message) return null;
  return (
    <p role="status" style={{ color: state.ok ? "green" : "crimson" }}>
      {state.message}
    </p>
  );
}

export function TicketForm() {
  const [state, action, pending] = useActionState(createTicketAction, initial);
  return (
    <form action={action}>
      <input name="title" placeholder="Title" required maxLength={200} /> <input name="email" type="email" placeholder="Your email" required />{" "}
      <button disabled={pending}>{pending ? "Creating…" : "Create ticket"}</button>
      <Status state={state} />
    </form>
  );
}

export function CloseButton({ id }: { id: string }) {
  const [state, action, pending] = useActionState(closeTicketAction, initial);
  return (
    <form action={action} style={{ display: "inline" }}>
      <input type="hidden" name="id" value={id} />
      <button disabled={pending}>Close</button>
      {state.ok ? null : <Status state={state} />}
    </form>
  );
}
