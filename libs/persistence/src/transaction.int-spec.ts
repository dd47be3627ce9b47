import { DomainError, ErrorKind } from '@chat/domain';
import { provisionDatabase, type TestDatabase } from '@chat/testing';
import type { DataSource, EntityManager } from 'typeorm';

import { createDataSource } from './data-source';
import type { PersistenceLogger } from './logger';
import { withTransaction } from './transaction';

const silent: PersistenceLogger = { info: () => undefined, warn: () => undefined };

describe('withTransaction', () => {
  let database: TestDatabase;
  let dataSource: DataSource;

  async function count(): Promise<number> {
    const [{ total }] = (await dataSource.query('SELECT count(*)::int AS total FROM notes')) as [
      { total: number },
    ];
    return total;
  }

  const insert = (manager: EntityManager, body: string): Promise<unknown> =>
    manager.query('INSERT INTO notes (body) VALUES ($1)', [body]);

  beforeAll(async () => {
    database = await provisionDatabase({ prefix: 'persistence_transactions' });
    dataSource = await createDataSource({
      url: database.url,
      schema: 'transactions_test',
      applicationName: 'persistence-transactions-test',
      poolSize: 4,
      logger: silent,
    }).initialize();
    await dataSource.query(`
      CREATE SCHEMA transactions_test;
      CREATE TABLE transactions_test.notes (id serial PRIMARY KEY, body text NOT NULL UNIQUE);
      CREATE TABLE transactions_test.counters (id int PRIMARY KEY, value int NOT NULL);
    `);
  });
  beforeEach(() => dataSource.query('TRUNCATE notes, counters'));
  afterAll(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it('commits everything the work did and returns its result', async () => {
    const result = await withTransaction(dataSource, async (manager) => {
      await insert(manager, 'first');
      await insert(manager, 'second');
      return 'done';
    });

    expect(result).toBe('done');
    expect(await count()).toBe(2);
  });

  it('rolls everything back when the work throws, and rethrows a DomainError unchanged', async () => {
    const rule = DomainError.failedPrecondition('GROUP.TOO_MANY_MEMBERS', 'The group is full');

    const failure = withTransaction(dataSource, async (manager) => {
      await insert(manager, 'written then undone');
      throw rule;
    });

    await expect(failure).rejects.toBe(rule);
    expect(await count()).toBe(0);
  });

  it('rolls back and maps a database error raised inside the work', async () => {
    const failure = withTransaction(dataSource, async (manager) => {
      await insert(manager, 'twice');
      await insert(manager, 'twice');
    });

    await expect(failure).rejects.toMatchObject({ kind: ErrorKind.AlreadyExists });
    expect(await count()).toBe(0);
  });

  it('runs the work at the requested isolation level', async () => {
    const levels = await Promise.all(
      (['READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE'] as const).map((isolation) =>
        withTransaction(
          dataSource,
          async (manager) => {
            const [{ level }] = (await manager.query(
              "SELECT current_setting('transaction_isolation') AS level",
            )) as [{ level: string }];
            return level;
          },
          { isolation },
        ),
      ),
    );

    expect(levels).toEqual(['read committed', 'repeatable read', 'serializable']);
  });

  it('runs a serializable transaction again after a serialization failure', async () => {
    await dataSource.query('INSERT INTO counters VALUES (1, 0)');
    let attempts = 0;
    let firstRead!: () => void;
    const readByFirst = new Promise<void>((resolve) => (firstRead = resolve));
    let secondCommitted!: () => void;
    const committedBySecond = new Promise<void>((resolve) => (secondCommitted = resolve));
    const increment = (manager: EntityManager) =>
      manager.query('UPDATE counters SET value = value + 1 WHERE id = 1') as Promise<unknown>;

    // The first reads, then waits while the second reads, writes and commits: the first's write then
    // conflicts with what its snapshot saw (40001), and its second attempt succeeds.
    const first = withTransaction(
      dataSource,
      async (manager) => {
        attempts += 1;
        const mine = attempts;
        await manager.query('SELECT value FROM counters WHERE id = 1');
        if (mine === 1) {
          firstRead();
          await committedBySecond;
        }
        await increment(manager);
      },
      { isolation: 'SERIALIZABLE' },
    );
    await readByFirst;
    await withTransaction(
      dataSource,
      async (manager) => {
        attempts += 1;
        await manager.query('SELECT value FROM counters WHERE id = 1');
        await increment(manager);
      },
      { isolation: 'SERIALIZABLE' },
    );
    secondCommitted();
    await first;

    const [{ value }] = (await dataSource.query('SELECT value FROM counters WHERE id = 1')) as [
      { value: number },
    ];
    expect(value).toBe(2);
    expect(attempts).toBe(3);
  });

  it('gives up after maxAttempts with a retryable UNAVAILABLE', async () => {
    let attempts = 0;

    const failure = withTransaction(
      dataSource,
      async () => {
        attempts += 1;
        throw Object.assign(new Error('could not serialize access due to concurrent update'), {
          code: '40001',
        });
      },
      { maxAttempts: 2 },
    );

    await expect(failure).rejects.toMatchObject({ kind: ErrorKind.Unavailable, code: 'DATABASE.CONFLICT' });
    expect(attempts).toBe(2);
  });
});
