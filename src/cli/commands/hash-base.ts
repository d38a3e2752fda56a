import os from 'node:os';
import { withDefaults } from '../../core/index.js';
import {
  HASH_BASE_INPUTS,
  parseHashBaseInputs,
  renderHashBaseSummary,
  runHashBase,
  hashBaseOutputs,
} from '../../baseimage/index.js';
import type { CliCommand } from '../command.js';

/** `c2c hash-base`: action-hash-base's engine; its inputs as flags, its outputs as lines or JSON. */
export const hashBaseCommand: CliCommand = {
  name: 'hash-base',
  summary: 'Hash the dependency files; build and push the base image only when no image has that hash yet.',
  inputs: HASH_BASE_INPUTS,
  required: ['files'],
  async run({ raw, g }, logger) {
    const opts = parseHashBaseInputs(withDefaults(HASH_BASE_INPUTS, raw, 'flag'), g.workspace);
    const r = await runHashBase(opts, {
      logger,
      manifestDir: process.env.RUNNER_TEMP || os.tmpdir(),
      ...(process.env.C2C_REVISION ? { revision: process.env.C2C_REVISION } : {}),
      ...(process.env.C2C_SOURCE ? { source: process.env.C2C_SOURCE } : {}),
    });
    return {
      outputs: hashBaseOutputs(r),
      text: `\n${renderHashBaseSummary(r)}\n`,
    };
  },
};
