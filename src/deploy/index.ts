// The face of src/deploy: what other rooms may use of it.
export type { AuditInfo } from './annotations.js';
export { substituteAll } from './images/index.js';
export type { ImageChange } from './images/index.js';
export {
  DEPLOY_INPUTS,
  DEPLOY_OUTPUTS,
  buildOutputs,
  parseCluster,
  deployOutputs,
  parseDeployInputs,
} from './inputs.js';
export type { DeployOptions } from './inputs.js';
export { applyNamespace, loadManifests } from './manifests/index.js';
export {
  asArray,
  asObject,
  asString,
  containersOf,
  get,
  kindOf,
  metadataOf,
  nameOf,
  namespaceOf,
} from './objects.js';
export type { JsonObject } from './objects.js';
export { auditFromGitHub, githubRecorder } from './record.js';
export { DeployUndoneError, renderDeploy, runDeploy } from './run.js';
export { DeployLock, LOCK_NAME, LockTimeoutError, lockDetail, processHolder } from './lock.js';
export { OVERRIDE_KEYS, workloadOverrides } from './overrides.js';
export type { BuiltImage, DeployContext, DeployProgress, EngineContext } from './types.js';
export { renderDeploySummary } from './summary.js';
export type { WorkloadRow } from './summary.js';
export type { DeploymentRecorder } from './types.js';
export { podSpecOf, podTemplateOf } from './kinds/index.js';
export { prepareDeploy, type PreparedSet } from './prepare.js';
export { isWatchedKind } from './kinds/index.js';
export { isPreDeploy, PHASE_KEY, PRE_DEPLOY, PreDeployFailed } from './phases.js';
export { watchWorkloads } from './rollout/index.js';
export type { Outcome } from './rollout/index.js';
