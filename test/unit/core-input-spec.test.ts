// Inputs declare their parser beside their default (InputDef.parse): parseInputs runs them, an action
// that picks another's inputs picks their parsers, and every default is a value its parser takes.
import { describe, expect, it } from 'vitest';
import { InputError, asDuration, parseInputs, pickInputs, type InputSpec } from '../../src/core/index.js';
import { DEPLOY_INPUTS, parseDeployInputs } from '../../src/deploy/index.js';
import { FEATURE_ENV_INPUTS, parseFeatureEnvInputs } from '../../src/featureenv/index.js';
import { HASH_BASE_INPUTS, parseHashBaseInputs } from '../../src/baseimage/index.js';
import { withDefaults } from '../../src/core/input-spec.js';

const SPECS: Record<string, InputSpec> = {
  'deploy-k8s': DEPLOY_INPUTS,
  'feature-env': FEATURE_ENV_INPUTS,
  'hash-base': HASH_BASE_INPUTS,
};

describe('parseInputs', () => {
  const spec = {
    wait: { default: '10m', description: 'd', parse: asDuration },
    name: { default: '', description: 'n' },
  } satisfies InputSpec;

  it('gives each input through its parser, a blank value as its default, the others as they are', () => {
    expect(parseInputs(spec, { wait: '90s', name: ' x ' })).toEqual({ wait: 90_000, name: ' x ' });
    expect(parseInputs(spec, { wait: '  ', name: '' })).toEqual({ wait: 600_000, name: '' });
  });

  it("refuses a bad value with the parser's InputError, naming the input", () => {
    const err = (() => {
      try {
        parseInputs(spec, { wait: 'soon', name: '' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).input).toBe('wait');
  });
});

describe('the actions’ specs', () => {
  for (const [action, spec] of Object.entries(SPECS))
    it(`${action}: every default is a value its input's parser takes`, () => {
      for (const [name, def] of Object.entries(spec))
        if (def.parse && def.default !== undefined && !def.default.startsWith('${{'))
          expect(() => def.parse!(def.default!, name), `${action} input ${name}`).not.toThrow();
    });

  it('feature-env takes the deploy inputs it shares with their parsers, picked by name', () => {
    const shared = Object.keys(FEATURE_ENV_INPUTS).filter(
      (n) =>
        n in DEPLOY_INPUTS &&
        FEATURE_ENV_INPUTS[n as keyof typeof FEATURE_ENV_INPUTS] ===
          DEPLOY_INPUTS[n as keyof typeof DEPLOY_INPUTS],
    );
    expect(shared).toEqual(expect.arrayContaining(['builder', 'pin-digests', 'token', 'kubeconfig']));
    expect(pickInputs(DEPLOY_INPUTS, 'pin-digests')['pin-digests'].parse).toBe(
      DEPLOY_INPUTS['pin-digests'].parse,
    );
  });

  it('an input not given gets what its parser makes of its default: the default is written once', () => {
    const d = parseDeployInputs(withDefaults(DEPLOY_INPUTS, { manifests: 'k8s/' }), '/ws');
    expect(d.timeoutMs).toBe(DEPLOY_INPUTS.timeout.parse(DEPLOY_INPUTS.timeout.default, 'timeout'));
    expect(d.failFastGraceMs).toBe(asDuration(DEPLOY_INPUTS['fail-fast-grace'].default, 'fail-fast-grace'));
    expect(d.rollbackTimeoutMs).toBe(
      asDuration(DEPLOY_INPUTS['rollback-timeout'].default, 'rollback-timeout'),
    );
    const f = parseFeatureEnvInputs(withDefaults(FEATURE_ENV_INPUTS, {}), '/ws');
    expect(f.ttlMs).toBe(asDuration(FEATURE_ENV_INPUTS.ttl.default, 'ttl'));
    expect(f.requiredPermission).toBe(FEATURE_ENV_INPUTS['required-permission'].default);
    const h = parseHashBaseInputs(withDefaults(HASH_BASE_INPUTS, { files: 'a' }), '/ws');
    expect(h.mode).toBe(HASH_BASE_INPUTS.mode.default);
    expect(h.dockerfile).toBe(`/ws/${HASH_BASE_INPUTS.dockerfile.default}`);
  });
});
