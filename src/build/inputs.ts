import { InputError } from '../core/errors.js';
import { parseEnum, parseKeyValues } from '../core/inputs.js';
import type { InputDef } from '../core/input-spec.js';
import type { BuilderChoice } from './index.js';

/** The build inputs every building action shares (same names, defaults and parsing). */
export const BUILD_INPUT_DEFS = {
  'build-args': { default: '', description: 'Newline-separated `KEY=VALUE` build arguments.' },
  builder: {
    default: 'auto',
    description:
      '`docker` (docker buildx), `buildah`, or `auto` (docker when a daemon answers, else buildah).',
  },
  'registry-password': {
    default: '',
    secret: true,
    description: 'Registry password or token for non-ECR registries.',
  },
} as const satisfies Record<string, InputDef>;

export interface BuildCommonRaw {
  'build-args': string;
  builder: string;
  'registry-username': string;
  'registry-password': string;
}

export interface BuildCommon {
  buildArgs: Array<[string, string]>;
  builder: BuilderChoice;
  username?: string;
  password?: string;
}

export function parseBuildCommon(raw: BuildCommonRaw): BuildCommon {
  const builder = parseEnum('builder', raw.builder, ['auto', 'docker', 'buildah'] as const, 'auto');
  const buildArgs = parseKeyValues('build-args', raw['build-args']);
  const username = raw['registry-username'].trim();
  const password = raw['registry-password'];
  if (password && !username)
    throw new InputError(
      'registry-username',
      "is empty but 'registry-password' is set",
      'the user name that goes with the password',
    );
  return { buildArgs, builder, ...(username ? { username } : {}), ...(password ? { password } : {}) };
}
