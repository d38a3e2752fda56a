import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import faces from './eslint-rules/faces.js';

export default tseslint.config(
  { ignores: ['node_modules/', 'lib/', '**/dist/', 'coverage/', 'examples/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        performance: 'readonly',
        setImmediate: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Rooms and faces: another folder of src/ is used only through its index.ts (eslint-rules/faces.js).
    files: ['src/**/*.ts'],
    plugins: { local: { rules: { faces } } },
    rules: { 'local/faces': 'error' },
  },
  {
    // The engine never knows where it runs: only src/actions and src/cli may import @actions/core.
    files: ['src/**/*.ts'],
    ignores: ['src/actions/**', 'src/cli/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@actions/core',
              message: 'The engine takes a Logger; only src/actions and src/cli import @actions/core.',
            },
          ],
        },
      ],
    },
  },
);
