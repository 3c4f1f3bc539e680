export { createConfigService, RESOLVE_CONFIG_SQL } from "./service.js";
export type { ConfigService, ConfigServiceDeps, ConfigShape } from "./service.js";
export { ResolveCache } from "./cache.js";
export type { ResolveCacheOptions, CacheStats } from "./cache.js";
export { createPgChangeBus, createRedisChangeBus, createLocalChangeBus, DEFAULT_CHANNEL } from "./bus.js";
export type { ReconnectingBus, PgChangeBusOptions, RedisChangeBusOptions } from "./bus.js";
export type {
  JsonValue,
  ResolvedConfigEntry,
  ResolvedConfig,
  ConfigEntry,
  ConfigSchema,
  SetConfigInput,
  ReadOptions,
  BatchResult,
  BatchOutcome,
  ConfigDiff,
  ConfigDiffEntry,
} from "./types.js";
