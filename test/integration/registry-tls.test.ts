import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { connectRegistry, RegistryUnreachableError } from '../../src/registry/index.js';
import { haveTools } from '../helpers/tools.js';
import { freePort } from '../helpers/net.js';
import { selfSignedCert } from '../helpers/tls.js';

/**
 * A loopback registry served over TLS (a port-forwarded in-cluster registry looks like this): the
 * client tries plain http first for loopback hosts and switches to https when the Go server answers
 * "Client sent an HTTP request to an HTTPS server".
 */
describe.skipIf(!haveTools('docker-registry', 'openssl'))(
  'registry client: a loopback registry over TLS',
  () => {
    let dir: string;
    let child: ChildProcess;
    let host: string;
    let ca: string;

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'c2c-tls-registry-'));
      ca = selfSignedCert(dir, { cn: '127.0.0.1', san: 'IP:127.0.0.1', days: 1 }).cert;
      const port = await freePort();
      host = `127.0.0.1:${port}`;
      writeFileSync(
        path.join(dir, 'config.yml'),
        [
          'version: 0.1',
          'log:',
          '  level: warn',
          'storage:',
          '  filesystem:',
          `    rootdirectory: ${path.join(dir, 'data')}`,
          'http:',
          `  addr: ${host}`,
          '  tls:',
          `    certificate: ${path.join(dir, 'cert.pem')}`,
          `    key: ${path.join(dir, 'key.pem')}`,
          '',
        ].join('\n'),
      );
      child = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
      const deadline = Date.now() + 15_000;
      for (;;) {
        const up = await connectRegistry(host, {
          logger: memoryLogger(),
          tls: { ca },
          retry: { attempts: 1 },
        })
          .then(() => true)
          .catch(() => false);
        if (up) break;
        if (Date.now() > deadline) throw new Error('TLS registry did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    afterAll(async () => {
      if (child && child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('switches to https, verifying the certificate against the given CA', async () => {
      const r = await connectRegistry(host, { logger: memoryLogger(), tls: { ca } });
      expect(r.endpoint.protocol).toBe('https:');
      expect(r.insecure).toBe(false);
      expect(await r.head('tls/app', 'v1')).toBeUndefined();
    });

    it('without the CA, the certificate is refused (no silent downgrade)', async () => {
      const err = await connectRegistry(host, { logger: memoryLogger(), retry: { attempts: 1 } }).catch(
        (e) => e,
      );
      expect(err).toBeInstanceOf(RegistryUnreachableError);
      expect(err.message).toMatch(/self[- ]signed certificate/i);
    });
  },
);
