// Lint for src/ and test/: neostandard's rules for TypeScript without its style rules (Prettier
// formats the code, `npm run format`), and a line limit that Prettier's width stays well inside.
import neostandard from 'neostandard'
import stylistic from '@stylistic/eslint-plugin'

export default [
  { ignores: ['dist/**', 'node_modules/**', 'test-artifacts/**'] },
  ...neostandard({ ts: true, noStyle: true }),
  {
    plugins: { '@stylistic': stylistic },
    rules: {
      // A line may run longer for a string, template or URL: a message broken in two is harder to find.
      '@stylistic/max-len': [
        'error',
        { code: 140, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }
      ],
      // `void promise` marks a promise deliberately not awaited.
      'no-void': ['error', { allowAsStatement: true }]
    }
  }
]
