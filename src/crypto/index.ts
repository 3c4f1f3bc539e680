export { createKeyring, keyringFromEnv, type Keyring, type KeyringOptions } from "./keyring.js";
export { createFieldCipher, canonicalAad, SEALED_PREFIX, type FieldCipher } from "./cipher.js";
export {
  encryptFields,
  decryptFields,
  normalizeBindingId,
  GLOBAL_TENANT,
  type EncryptedModelMeta,
  type EncryptFieldsContext,
  type DecryptFieldsContext,
} from "./fields.js";
export {
  rotateKeys,
  rotationTargetsFromModels,
  CONFIG_ROTATION_TARGET,
  configCipherContext,
  type RotationColumn,
  type RotationTarget,
  type RotationProgress,
  type RotationResult,
  type RotationFailure,
  type RotateKeysOptions,
} from "./rotate.js";
