// ESLint (flat config) with typescript-eslint. Besides the recommended rules it
// encodes the house's seams: no import into another package's src/, the
// environment read only by config modules, and functions short enough to read.
// Formatting is Prettier's (.prettierrc.json); `npm run lint` checks both.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Files whose job is to read the environment once; every other file gets its values from them. */
const CONFIG_MODULES = [
  '**/config.ts',
  '**/*-config.ts',
  '**/*.config.ts',
  '**/config.schema.ts',
  '**/*-config.schema.ts',
  '**/config/**',
];
const TESTS = ['test/**', '**/*.test.ts', '**/*.test.tsx'];

/** `from` may not reach into these packages' sources: they are imported by name (@rayvault/...). */
const crossPackage = (own) =>
  [
    'shared',
    'cli',
    'services/evidence-worker',
    'services/render-worker',
    'services/notifier',
    'services/ops-api',
    'services/scheduler',
  ]
    .filter((p) => p !== own)
    .map((p) => `**/${p}/src/**`);

const seams = (own) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        {
          group: crossPackage(own),
          message: 'Import the package by name (@rayvault/...), not its src/: it is another package.',
        },
      ],
    },
  ],
});

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      'dist/**',
      'dist.*/**',
      'state/**',
      'docs/**',
      'services/ops-api/src/dashboard/public/**',
      '**/*.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx,mjs,js}'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        performance: 'readonly',
        structuredClone: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        __dirname: 'readonly',
        __filename: 'readonly',
        require: 'readonly',
        module: 'writable',
        document: 'readonly',
        window: 'readonly',
        EventSource: 'readonly',
        HTMLElement: 'readonly',
        localStorage: 'readonly',
        Response: 'readonly',
        Request: 'readonly',
        Headers: 'readonly',
        queueMicrotask: 'readonly',
        navigator: 'readonly',
        location: 'readonly',
        history: 'readonly',
      },
    },
    rules: {
      // Unused arguments keep a signature readable (`_req`); unused bindings are dead code.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read the environment in a config module (config.ts / config.schema.ts) and pass the parsed value.',
        },
      ],
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true, IIFEs: true }],
      // Prettier wraps code at 120 and comments are held to the same width. A long message string stays
      // whole: an operator greps the code for the line they saw in a log.
      'max-len': [
        'error',
        { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true, ignoreStrings: true, ignoreTemplateLiterals: true },
      ],
    },
  },
  { files: ['shared/**'], rules: seams('shared') },
  { files: ['cli/**'], rules: seams('cli') },
  ...['evidence-worker', 'render-worker', 'notifier', 'ops-api', 'scheduler'].map((s) => ({
    files: [`services/${s}/**`],
    rules: seams(`services/${s}`),
  })),
  { files: ['bench/**'], rules: seams('bench') },
  // Config modules read the environment; tests set it up; scripts are the processes' launchers.
  { files: [...CONFIG_MODULES, ...TESTS, 'scripts/**', '*.js', '*.mjs'], rules: { 'no-restricted-properties': 'off' } },
  // A test is a story: its length is its scenario's.
  { files: TESTS, rules: { 'max-lines-per-function': 'off', '@typescript-eslint/no-explicit-any': 'off' } },
  { files: ['**/*.js', '**/*.mjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
