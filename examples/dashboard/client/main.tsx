/// <reference lib="dom" />
/** Browser entry: reads the settings the server put in the page, then renders the dashboard. */
import { createRoot } from "react-dom/client";
import { createFetchAdminClient } from "../../../src/react/index.js";
import { DashboardApp } from "./App.js";

const settings = JSON.parse(document.getElementById("dashboard-settings")?.textContent ?? "{}") as { apiKey?: string };
const apiKey = settings.apiKey ?? "";
const client = createFetchAdminClient({ controlPlaneUrl: location.origin, apiKey });
const root = document.getElementById("root");
if (root) createRoot(root).render(<DashboardApp client={client} baseUrl={location.origin} apiKey={apiKey} />);
