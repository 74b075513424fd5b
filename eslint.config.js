import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // libs/rig/images: what the rig's images hold, run inside them, not the project's code.
  { ignores: ['**/dist/**', '**/node_modules/**', 'docs/**', 'libs/rig/images/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      // `const { dropped, ...rest } = object` is how a field is left out.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', name: ['describe', 'it', 'test'], package: 'node:test' }] },
      ],
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // @kubernetes/client-node models are classes, but its own docs build them as plain objects.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Decisions stay pure: no I/O modules, and no adapter of Berth's, in files that only decide.
    files: [
      'libs/contracts/src/**/*.ts',
      'libs/ipnet/src/**/*.ts',
      'libs/serving/src/**/*.ts',
      'services/ipam/src/allocate/**/*.ts',
      'services/watcher/src/snapshots/**/*.ts',
      'services/watcher/src/status/{service-status,pool-status,peer-status}.ts',
      'services/route-publisher/src/{routes,peers}/**/*.ts',
      'services/node-agent/src/packets/**/*.ts',
      'cli/src/view/**/*.ts',
      'cli/src/args.ts',
    ],
    ignores: ['libs/contracts/src/write-schemas.ts', '**/*.test.ts'],
    rules: {
      // Types only are erased at build: a decision may name an adapter's types, never call it.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              allowTypeImports: true,
              group: [
                'nats',
                'ioredis',
                'undici',
                '@kubernetes/*',
                '@grpc/*',
                '@berth/bus',
                '@berth/rig',
                'node:fs*',
                'node:http*',
                'node:child_process',
                'node:dgram',
                'node:dns*',
                'node:tls',
                '**/rawsock/**',
                '**/kube/**',
                '**/redis/**',
                '**/gobgp/**',
                '!@berth/kube/rules',
              ],
            },
          ],
          paths: [
            { name: 'node:net', importNames: ['connect', 'createConnection', 'createServer', 'Socket', 'Server'] },
            // Its pure part is '@berth/kube/rules'.
            { name: '@berth/kube', allowTypeImports: true },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
