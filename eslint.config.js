// ESLint over the repository's TypeScript and JavaScript: typescript-eslint's recommended rules
// (syntax only, without type information, so a run takes seconds), tuned to the project's style
// so that what it reports is a real fault. Layout is Prettier's job (`.prettierrc`), and which
// module may import which is dependency-cruiser's (`.dependency-cruiser.cjs`).
// Violations that lie in code being reshaped (issue 17) are recorded in eslint-suppressions.json
// (`eslint --suppress-all`); a new one fails `npm run lint`, and fixing one requires
// `eslint --prune-suppressions`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**', '.tmp/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_name` marks a binding that is there for its position or to leave a field out of a rest.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // `cond ? a() : b()` and `x && f()` as statements are the project's style; a bare value is not.
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
    },
  },
  {
    // Tests read JSON bodies of any shape; types there would only restate the assertion.
    files: ['**/*.spec.ts', '**/*.contract.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The reference client (`/demo`) is plain JavaScript in the browser.
    files: ['apps/platform/demo/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // CommonJS configuration files (dependency-cruiser's).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
