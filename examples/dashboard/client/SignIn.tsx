/// <reference lib="dom" />
/** Operator sign-in: email and password to the dashboard server, which answers with a session cookie. */
import { useState } from "react";
import type { StratumTheme } from "../../../src/react/index.js";
import { dashboardApi, type SessionInfo } from "./api.js";
import { dashboardCss } from "./styles.js";
import { stratumAdminCss } from "../../../src/react/index.js";

export function SignIn({ theme, onSignedIn }: { theme: StratumTheme; onSignedIn(session: SessionInfo): void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const submit = async () => {
    setPending(true);
    setError(null);
    try {
      onSignedIn(await dashboardApi.login(email, password));
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
      setPending(false);
    }
  };
  return (
    <div className="stratum-root signin-page" data-stratum-theme={theme}>
      <style>{stratumAdminCss}</style>
      <style>{dashboardCss}</style>
      <main className="signin-card">
        <p className="brand">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>{" "}
          AcmeSec Console
        </p>
        <h1>Sign in</h1>
        <p className="stratum-help">Operators of the AcmeSec MSSP: your tenants, their config, permissions and keys.</p>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void submit();
          }}
        >
          <div className="stratum-field">
            <label htmlFor="signin-email">Work email</label>
            <input
              id="signin-email"
              className="stratum-input"
              type="email"
              autoComplete="username"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              required
            />
          </div>
          <div className="stratum-field">
            <label htmlFor="signin-password">Password</label>
            <input
              id="signin-password"
              className="stratum-input"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
            />
          </div>
          {error ? (
            <div role="alert" className="stratum-error">
              {error}
            </div>
          ) : null}
          <button type="submit" className="stratum-button stratum-button--primary signin-submit" disabled={pending || !email || !password}>
            {pending ? "Signing in…" : "Sign in"}
          </button>
        </form>
      </main>
    </div>
  );
}
