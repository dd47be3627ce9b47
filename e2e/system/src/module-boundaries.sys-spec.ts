import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { workspaceRoot } from '@chat/testing-services';

/** Lints a would-be source file with the repository's ESLint config and returns the rule ids it breaks. */
function violations(file: string, source: string): string[] {
  const result = spawnSync(
    path.join(workspaceRoot, 'node_modules/.bin/eslint'),
    ['--format', 'json', '--stdin', '--stdin-filename', file],
    { cwd: workspaceRoot, input: source, encoding: 'utf8', env: { ...process.env, NX_DAEMON: 'false' } },
  );
  const [report] = JSON.parse(result.stdout) as Array<{
    messages: Array<{ ruleId: string | null; message: string }>;
  }>;
  return report!.messages.map((message) => message.ruleId ?? message.message);
}

describe('architecture rules enforced by lint', () => {
  beforeAll(() => {
    // The boundary rule reads Nx's cached project graph and skips itself without one:
    // make sure it exists and is current, as `npm test` does before linting.
    const graph = spawnSync(path.join(workspaceRoot, 'node_modules/.bin/nx'), ['show', 'projects'], {
      cwd: workspaceRoot,
      encoding: 'utf8',
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
    });
    expect(graph.status).toBe(0);
  });

  it('fails an app importing another app', () => {
    const source =
      "import { groupService } from '../../group-service/src/service';\nexport const leak = groupService;\n";
    expect(violations('apps/message-service/src/leak.ts', source)).toContain('@nx/enforce-module-boundaries');
  });

  it('fails the domain lib importing the database driver', () => {
    const source = "import { Client } from 'pg';\nexport const leak = Client;\n";
    expect(violations('libs/domain/src/leak.ts', source)).toContain('no-restricted-imports');
  });

  it('fails production code importing the test harness', () => {
    const source = "import { eventually } from '@chat/testing';\nexport const leak = eventually;\n";
    expect(violations('apps/group-service/src/leak.ts', source)).toContain('no-restricted-imports');
  });

  it('passes an app importing the shared libs', () => {
    const source = "import { DomainError } from '@chat/domain';\nexport const ok = DomainError;\n";
    expect(violations('apps/group-service/src/ok.ts', source)).toEqual([]);
  });
});
