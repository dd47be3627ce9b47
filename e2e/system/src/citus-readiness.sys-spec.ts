import { spawnSync } from 'node:child_process';
import { Client } from 'pg';
import { provisionDatabase, type TestDatabase } from '@chat/testing';
import { bundlePath, STACK_APPS, workspaceRoot } from '@chat/testing-services';

/**
 * Citus readiness of the three schemas (docs/operations.md, "Sharding with Citus"). Citus distributes a
 * table by one column, and a distributed table's primary key and every unique constraint or unique index
 * must contain that column (it can only enforce uniqueness within a shard). Tables of the same conversation
 * are co-located, which needs the same column type.
 *
 * The plan below is written by hand from the architecture, not read from the schema: every table of every
 * service must be in it, so a new table forces a decision. `GAPS` lists what still breaks the rule today,
 * each with the migration that fixes it (in the docs): the test fails when a new violation appears, and
 * also when a gap is closed without being struck from the list, so the list stays the truth.
 */
type Placement =
  /** Sharded by this column, co-located with the other tables sharded by the conversation. */
  | { distributedBy: string; conversation: true }
  /** Sharded by this column, not by the conversation (co-located with its own kind). */
  | { distributedBy: string; conversation: false }
  /** Small and read everywhere: copied to every node. */
  | { reference: true }
  /** Stays on the coordinator (bookkeeping of the migration tool). */
  | { local: true };

const byConversation = (column = 'conversation_id'): Placement => ({
  distributedBy: column,
  conversation: true,
});
const MESSAGING: Record<string, Placement> = {
  outbox: byConversation(),
  outbox_sequence: byConversation(),
  inbox_sequence: byConversation(),
  inbox_dead_letters: byConversation(),
  migrations: { local: true },
};

const PLAN: Record<string, Record<string, Placement>> = {
  message_service: {
    ...MESSAGING,
    messages: byConversation(),
    members: byConversation(),
    conversations: byConversation('id'),
  },
  conversation_service: {
    ...MESSAGING,
    conversations: byConversation('id'),
    conversation_activity: byConversation(),
    conversation_members: byConversation(),
    membership_periods: byConversation(),
    message_tombstones: byConversation(),
    // Get-or-create of a direct conversation looks up the pair: sharded by the pair's first user.
    direct_conversations: { distributedBy: 'user_low', conversation: false },
    // The live-update log is read by position across conversations (Subscribe's replay).
    updates: byConversation(),
    update_log: { reference: true },
  },
  group_service: {
    ...MESSAGING,
    groups: byConversation('id'),
    participants: byConversation('group_id'),
  },
};

/**
 * What breaks the rules today, as `schema.table: what`; docs/operations.md says how each goes. Every key
 * already holds its distribution column; what is left is the type of the messaging tables' conversation.
 */
const GAPS = ['conversation_service', 'group_service', 'message_service']
  .flatMap((schema) =>
    ['outbox', 'outbox_sequence', 'inbox_sequence', 'inbox_dead_letters'].map(
      (table) => `${schema}.${table}: conversation_id is text, the conversation's other tables use uuid`,
    ),
  )
  .sort();

interface Key {
  table: string;
  primary: boolean;
  columns: string[];
}

describe('Citus readiness: every table has a placement, and the distribution column is in every key', () => {
  let database: TestDatabase;
  let client: Client;

  beforeAll(async () => {
    database = await provisionDatabase({ prefix: 'citus' });
    for (const app of STACK_APPS) {
      const migrated = spawnSync(process.execPath, [bundlePath(app), 'migrate'], {
        cwd: workspaceRoot,
        encoding: 'utf8',
        env: { PATH: process.env['PATH'] ?? '', DATABASE_URL: database.url, LOG_LEVEL: 'warn' },
      });
      expect({ app, status: migrated.status, stderr: migrated.stderr }).toEqual({
        app,
        status: 0,
        stderr: '',
      });
    }
    client = new Client({ connectionString: database.url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  async function tablesOf(schema: string): Promise<string[]> {
    const { rows } = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1`,
      [schema],
    );
    return rows.map((row) => row.name);
  }

  /** The primary key and every unique constraint or unique index (partial ones too), by table. */
  async function keysOf(schema: string): Promise<Key[]> {
    const { rows } = await client.query<Key>(
      `SELECT c.relname AS "table", i.indisprimary AS primary,
              array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns
       FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND i.indisunique ORDER BY 1, 2 DESC`,
      [schema],
    );
    return rows;
  }

  async function columnType(schema: string, table: string, column: string): Promise<string | undefined> {
    const { rows } = await client.query<{ type: string }>(
      `SELECT data_type AS type FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = $2 AND column_name = $3`,
      [schema, table, column],
    );
    return rows[0]?.type;
  }

  it.each(Object.keys(PLAN))('places every table of %s, and only tables that exist', async (schema) => {
    expect(await tablesOf(schema)).toEqual(Object.keys(PLAN[schema]!).sort());
  });

  /** Each key of a distributed table that lacks its distribution column, and each co-location type mismatch. */
  async function violations(plans: Record<string, Record<string, Placement>>): Promise<string[]> {
    const found: string[] = [];
    for (const [schema, plan] of Object.entries(plans)) {
      const keys = await keysOf(schema);
      for (const [table, placement] of Object.entries(plan)) {
        if (!('distributedBy' in placement)) continue;
        const column = placement.distributedBy;
        const type = await columnType(schema, table, column);
        if (type === undefined) {
          found.push(`${schema}.${table}: no column ${column}`);
          continue;
        }
        for (const key of keys.filter((candidate) => candidate.table === table)) {
          if (!key.columns.includes(column)) {
            found.push(
              `${schema}.${table}: ${key.primary ? 'primary key' : 'unique'} (${key.columns.join(', ')})`,
            );
          }
        }
        if (placement.conversation && type !== 'uuid') {
          found.push(`${schema}.${table}: ${column} is ${type}, the conversation's other tables use uuid`);
        }
      }
    }
    return found.sort();
  }

  it('finds exactly the known gaps: a new table or key that breaks the rule fails, and so does a closed gap still listed', async () => {
    expect(await violations(PLAN)).toEqual(GAPS);
  });

  it('catches a table keyed by conversation whose primary key or unique index lacks the conversation', async () => {
    await client.query(`CREATE TABLE message_service.reactions (
      id uuid PRIMARY KEY, conversation_id uuid NOT NULL, seq bigint NOT NULL, user_id text NOT NULL)`);
    await client.query('CREATE UNIQUE INDEX reactions_once_idx ON message_service.reactions (seq, user_id)');
    try {
      expect(await tablesOf('message_service')).not.toEqual(Object.keys(PLAN['message_service']!).sort());
      const withReactions = { message_service: { reactions: byConversation() } };
      expect(await violations(withReactions)).toEqual([
        'message_service.reactions: primary key (id)',
        'message_service.reactions: unique (seq, user_id)',
      ]);
    } finally {
      await client.query('DROP TABLE message_service.reactions');
    }
  });
});
