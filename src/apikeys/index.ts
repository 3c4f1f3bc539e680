export {
  createApiKeyService,
  hashApiKey,
  API_KEY_PATTERN,
  type ApiKey,
  type ApiKeyService,
  type CreateApiKeyInput,
  type CreatedApiKey,
  type ListApiKeysInput,
} from "./service.js";
export { API_KEY_SCOPES, hasScope, type ApiKeyScope } from "./scopes.js";
