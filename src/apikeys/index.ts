export {
  createApiKeyService,
  hashApiKey,
  API_KEY_PATTERN,
  type ApiKey,
  type ApiKeyService,
  type CreateApiKeyInput,
  type CreatedApiKey,
  type ListApiKeysInput,
  type RotateApiKeyOptions,
  type RotatedApiKey,
} from "./service.js";
export { MAX_ROTATION_GRACE_SECONDS } from "./lifecycle.js";
export { API_KEY_SCOPES, hasScope, type ApiKeyScope } from "./scopes.js";
