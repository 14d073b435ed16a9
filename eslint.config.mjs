// Lint rules, and the architecture written down as rules: which folder may import which.
//   http -> services, mail, db, models (routes call services or the pipeline's entry points)
//   cli, jobs -> anything below them
//   mail -> services, db, models
//   services -> db, models (never http, never mail)
//   models, db -> nothing above them
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const below = (target, from, message) => ({ target, from, message });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'tests/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      'no-console': 'error',
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            below('./src/services', './src/http', 'services never import the HTTP layer'),
            below('./src/services', './src/mail', 'services never import the mail pipeline: its admin operations live beside it in src/mail'),
            below('./src/services', './src/jobs', 'services never import jobs'),
            below('./src/services', './src/cli', 'services never import the CLI'),
            below('./src/mail', './src/http', 'the mail pipeline never imports the HTTP layer'),
            below('./src/mail', './src/cli', 'the mail pipeline never imports the CLI'),
            below('./src/models', './src/services', 'models import nothing above them'),
            below('./src/models', './src/http', 'models import nothing above them'),
            below('./src/models', './src/mail', 'models import nothing above them'),
            below('./src/models', './src/jobs', 'models import nothing above them'),
            below('./src/db', './src/services', 'db imports nothing above it'),
            below('./src/db', './src/http', 'db imports nothing above it'),
            below('./src/db', './src/mail', 'db imports nothing above it'),
            below('./src/db', './src/jobs', 'db imports nothing above it'),
            below('./src/db', './src/models', 'db imports nothing above it'),
            below('./src/http', './src/cli', 'the HTTP layer never imports the CLI'),
            below('./src/http', './src/jobs', 'the HTTP layer never imports jobs'),
          ],
        },
      ],
    },
  },
  {
    // objection's relation mappings require their models lazily (a static import would be a cycle)
    files: ['src/models/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // a migration's up() is the schema written out: long by nature
    files: ['migrations/**/*.ts'],
    rules: { 'max-lines-per-function': 'off' },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // tests and benchmarks print their figures and may hold long scenarios; they load modules after setting the environment
    files: ['tests/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-console': 'off',
      'max-lines-per-function': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
);
