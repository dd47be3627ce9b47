import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** Which kinds of project may depend on which: apps never on apps, domain on nothing with I/O. */
const depConstraints = [
  // Apps: shared libs only, never another app (the scope rules below).
  {
    sourceTag: 'type:app',
    onlyDependOnLibsWithTags: [
      'type:contract',
      'type:domain',
      'type:grpc',
      'type:persistence',
      'type:messaging',
      'type:runtime',
      'type:testing',
      'type:test-infra',
    ],
  },
  { sourceTag: 'scope:conversation', onlyDependOnLibsWithTags: ['scope:conversation', 'scope:shared'] },
  { sourceTag: 'scope:message', onlyDependOnLibsWithTags: ['scope:message', 'scope:shared'] },
  { sourceTag: 'scope:group', onlyDependOnLibsWithTags: ['scope:group', 'scope:shared'] },
  { sourceTag: 'scope:system', onlyDependOnLibsWithTags: ['scope:shared'] },
  // Libs, from the purest up. `type:test-infra` (libs/testing) depends on no lib, so any
  // lib's tests may use it; production code is kept off it by no-restricted-imports below.
  { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'] },
  { sourceTag: 'type:contract', onlyDependOnLibsWithTags: ['type:contract'] },
  { sourceTag: 'type:persistence', onlyDependOnLibsWithTags: ['type:domain', 'type:test-infra'] },
  {
    sourceTag: 'type:messaging',
    onlyDependOnLibsWithTags: ['type:contract', 'type:domain', 'type:persistence', 'type:test-infra'],
  },
  {
    sourceTag: 'type:grpc',
    onlyDependOnLibsWithTags: [
      'type:contract',
      'type:domain',
      'type:persistence',
      'type:messaging',
      'type:test-infra',
    ],
  },
  // The service kernel assembles a service from all of the above.
  {
    sourceTag: 'type:runtime',
    onlyDependOnLibsWithTags: [
      'type:contract',
      'type:domain',
      'type:persistence',
      'type:messaging',
      'type:grpc',
      'type:test-infra',
    ],
  },
  { sourceTag: 'type:test-infra', onlyDependOnLibsWithTags: [] },
  // Tools (benchmarks): any lib, never an app.
  {
    sourceTag: 'type:tool',
    onlyDependOnLibsWithTags: [
      'type:contract',
      'type:domain',
      'type:grpc',
      'type:runtime',
      'type:persistence',
      'type:messaging',
      'type:testing',
      'type:test-infra',
    ],
  },
  {
    sourceTag: 'type:testing',
    onlyDependOnLibsWithTags: [
      'type:test-infra',
      'type:contract',
      'type:domain',
      'type:grpc',
      'type:runtime',
      'type:persistence',
      'type:messaging',
    ],
  },
  {
    sourceTag: 'type:e2e',
    onlyDependOnLibsWithTags: [
      'type:test-infra',
      'type:testing',
      'type:contract',
      'type:domain',
      'type:grpc',
    ],
  },
];

const testFiles = [
  '**/*.spec.ts',
  '**/*.int-spec.ts',
  '**/*.sys-spec.ts',
  '**/test/**/*.ts',
  'libs/testing*/**/*.ts',
  'e2e/**/*.ts',
];

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'tmp/**',
      '.nx/**',
      '.tooling/**',
      'libs/contract/src/generated/**',
      '**/*.cjs',
      '**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // NestJS injects by the constructor parameter types, so those imports must stay values.
    languageOptions: { parserOptions: { emitDecoratorMetadata: true, experimentalDecorators: true } },
  },
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        { enforceBuildableLibDependency: false, allow: [], depConstraints },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
    },
  },
  {
    // The domain stays pure: no database, broker, transport or framework.
    files: ['libs/domain/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            'pg',
            'typeorm',
            '@nats-io/*',
            '@grpc/*',
            '@nestjs/*',
            'node:net',
            'node:fs',
            'node:child_process',
            '@chat/testing',
            '@chat/testing-*',
          ],
        },
      ],
    },
  },
  {
    // The test harness is for tests only.
    files: ['apps/*/src/**/*.ts', 'libs/{contract,grpc,persistence,messaging,service-runtime}/src/**/*.ts'],
    ignores: testFiles,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@chat/testing', '@chat/testing-*'], message: 'The test harness is for tests only.' },
            {
              group: ['@chat/*/testing'],
              message: "A lib's testing entry point is for tests and benchmarks only.",
            },
          ],
        },
      ],
    },
  },
  prettier,
);
