/// <reference lib="dom" />
/**
 * The dashboard: sign-in, then the operator console. The page holds no key: every call goes to
 * the dashboard server with the session cookie, which forwards it to the control plane.
 */
import { useEffect, useState } from "react";
import { dashboardApi, type SessionInfo } from "./api.js";
import { Console } from "./Console.js";
import { SignIn } from "./SignIn.js";
import { useTheme } from "./use-theme.js";

type State = { status: "checking" } | { status: "signed-out" } | { status: "signed-in"; session: SessionInfo };

export function DashboardApp() {
  const [state, setState] = useState<State>({ status: "checking" });
  const [theme, setTheme] = useTheme();
  useEffect(() => {
    dashboardApi.session().then(
      (session) => setState({ status: "signed-in", session }),
      () => setState({ status: "signed-out" }),
    );
  }, []);

  if (state.status === "checking") return null;
  if (state.status === "signed-out") return <SignIn theme={theme} onSignedIn={(session) => setState({ status: "signed-in", session })} />;
  return (
    <Console
      // A new session (sign-in, view-as) is a new client: no cache of the previous view survives.
      key={`${state.session.email}:${state.session.view_as?.id ?? ""}`}
      session={state.session}
      theme={theme}
      onTheme={setTheme}
      onSession={(session) => setState({ status: "signed-in", session })}
      onSignedOut={() => setState({ status: "signed-out" })}
    />
  );
}
