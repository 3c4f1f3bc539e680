/// <reference lib="dom" />
/** Browser entry: the app decides between sign-in and the console from the server's session answer. */
import { createRoot } from "react-dom/client";
import { DashboardApp } from "./App.js";

const root = document.getElementById("root");
if (root) createRoot(root).render(<DashboardApp />);
