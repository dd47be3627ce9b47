import type { DataSource } from 'typeorm';

/**
 * Whether the database answers `SELECT 1` within `timeoutMs`. Never throws: a data source that is not
 * initialized, a broken connection, a pool that cannot connect and a slow answer all give `false`.
 * Meant for the health monitor, which polls it.
 */
export async function checkDatabase(dataSource: DataSource, timeoutMs: number): Promise<boolean> {
  if (!dataSource.isInitialized) return false;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    const probe = Promise.resolve()
      .then(() => dataSource.query('SELECT 1'))
      .then(
        () => true,
        () => false,
      );
    return await Promise.race([probe, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
