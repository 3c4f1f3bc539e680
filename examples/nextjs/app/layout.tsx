import type { ReactNode } from "react";

export const metadata = { title: "stratum-prisma · Next.js server actions" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: "system-ui, sans-serif", maxWidth: 880, margin: "2rem auto", padding: "0 1rem" }}>{children}</body>
    </html>
  );
}
