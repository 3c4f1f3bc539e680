export {
  createRateLimiter,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimitKey,
  type RateLimitRule,
  type RateLimitRules,
  type RateLimitResult,
} from "./limiter.js";
