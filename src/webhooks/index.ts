export {
  createWebhookService,
  backoffDelay,
  matchingPatterns,
  SECRET_PREFIX,
  WEBHOOK_SECRET_ROTATION_TARGET,
  type WebhookService,
  type WebhookServiceDeps,
  type BackoffOptions,
  type Webhook,
  type WebhookInput,
  type RegisteredWebhook,
  type WebhookEvent,
  type WebhookPayload,
  type Delivery,
  type DeliveryStatus,
  type DeliveryJob,
  type StartOptions,
} from "./service.js";
export {
  verifyWebhookSignature,
  computeWebhookSignature,
  signatureHeader,
  WEBHOOK_HEADERS,
  SIGNATURE_VERSION,
  DEFAULT_TOLERANCE_SECONDS,
  type VerifyOptions,
  type WebhookHeaders,
  type WebhookVerification,
} from "./signature.js";
export { withWebhookEvents, EVENT_NAMES, type WebhookEventsOptions } from "./audit-events.js";
export { isPrivateAddress, type EgressPolicy } from "./egress.js";
export {
  createWebhookOperations,
  webhookEventCatalogue,
  WEBHOOK_TEST_EVENT,
  type WebhookOperations,
  type WebhookStats,
  type WebhookEventType,
} from "./operations.js";
