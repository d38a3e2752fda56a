import type { InputSpec } from '../../core/index.js';
import { HASH_BASE_INPUTS, HASH_BASE_OUTPUTS } from '../../baseimage/index.js';
import { DEPLOY_INPUTS, DEPLOY_OUTPUTS } from '../../deploy/index.js';
import { FEATURE_ENV_INPUTS, FEATURE_ENV_OUTPUTS } from '../../featureenv/index.js';

/**
 * Each action's metadata: the single source from which action.yml and the README tables are
 * generated (scripts/gen-docs.ts) and against which a test checks them.
 */
export interface ActionMeta {
  dir: string;
  name: string;
  description: string;
  branding: { icon: string; color: string };
  inputs: InputSpec;
  outputs: Record<string, string>;
  post?: boolean;
}

export const ACTIONS: ActionMeta[] = [
  {
    dir: 'action-hash-base',
    name: 'commit-to-cloud: hash base',
    description:
      'Hash the files that define your dependencies; build and push the base image only when no image has that hash yet, and say what changed.',
    branding: { icon: 'hash', color: 'blue' },
    inputs: HASH_BASE_INPUTS,
    outputs: HASH_BASE_OUTPUTS,
  },
  {
    dir: 'action-deploy-k8s',
    name: 'commit-to-cloud: deploy to Kubernetes',
    description:
      'Build the app image on the base, push it, pin manifests to the digest, apply, watch the rollout, roll back by itself on failure, and record who deployed what.',
    branding: { icon: 'upload-cloud', color: 'blue' },
    inputs: DEPLOY_INPUTS,
    outputs: DEPLOY_OUTPUTS,
  },
  {
    dir: 'action-feature-env',
    name: 'commit-to-cloud: feature environment',
    description:
      'One isolated environment per labelled pull request, from a warm pool: its services with the images under test, its own database and URLs, a PR comment and a GitHub Deployment; torn down on unlabel, close or expiry.',
    branding: { icon: 'git-pull-request', color: 'blue' },
    inputs: FEATURE_ENV_INPUTS,
    outputs: FEATURE_ENV_OUTPUTS,
  },
];
