import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // lib/ imports the library's sources and the generated Prisma client from the repository root
  // (so the example runs the code next to it); Next compiles TypeScript outside its folder only with this.
  experimental: { externalDir: true },
  // Loaded by Node at run time instead of bundled: database drivers, Prisma's engine, queue clients.
  serverExternalPackages: ["pg", "@prisma/client", "@prisma/adapter-pg", "@electric-sql/pglite", "pglite-prisma-adapter", "bullmq", "ioredis", "fastify"],
  webpack(config: { resolve: { extensionAlias?: Record<string, string[]> } }) {
    // The library's ESM sources import "./x.js" for "./x.ts", as NodeNext requires.
    config.resolve.extensionAlias = { ".js": [".ts", ".tsx", ".js"], ".mjs": [".mts", ".mjs"] };
    return config;
  },
};

export default nextConfig;
