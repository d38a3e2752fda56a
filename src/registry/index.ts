export {
  connectRegistry,
  digestOf,
  nextLink,
  pickPlatform,
  tagHolding,
  ensureCacheRepository,
  type ConnectOptions,
  type ImageConfigInfo,
  type ManifestInfo,
  type ManifestJson,
  type ReferrerDescriptor,
  type Registry,
  type RegistryCredentials,
} from './client.js';
export {
  RegistryAuthError,
  RegistryError,
  RegistryUnreachableError,
  describeCredentials,
  type CredentialsUsed,
} from './errors.js';
export { isTransientAwsError } from '../aws/index.js';
export * from './media-types.js';
export {
  formatScope,
  normaliseScopes,
  parseScope,
  parseWwwAuthenticate,
  repositoryScope,
  scopesCover,
  type Challenge,
  type Scope,
} from './www-authenticate.js';
