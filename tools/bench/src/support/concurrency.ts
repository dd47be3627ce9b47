import type { Deadline } from './harness';

/**
 * Runs `work` on every item with at most `concurrency` at once and returns the results in input order;
 * the deadline is checked before each item, so a run that cannot finish stops saying where it was.
 */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  concurrency: number,
  deadline: Deadline,
  doing: string,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) {
      deadline.check(`${doing} (${index} of ${items.length})`);
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
