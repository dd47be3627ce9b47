import { GroupCommit, type Settled } from './group-commit';

interface Item {
  key: string;
  value: number;
}

/** A writer whose batches finish only when the test says so, recording what each batch held. */
function controlledWriter() {
  const batches: Item[][] = [];
  const finishers: Array<(outcomes?: Array<Settled<number>>) => void> = [];
  const failers: Array<(error: unknown) => void> = [];
  const write = (items: Item[]) =>
    new Promise<Array<Settled<number>>>((resolve, reject) => {
      batches.push(items);
      finishers.push((outcomes) =>
        resolve(outcomes ?? items.map((item) => ({ ok: true, value: item.value * 10 }))),
      );
      failers.push(reject);
    });
  return { batches, finishers, failers, write };
}

/** A GroupCommit over a controlled writer, items keyed by `key`. */
function groupCommit(limits: { maxBatch: number; maxInFlight: number }) {
  const writer = controlledWriter();
  const commit = new GroupCommit<Item, number>({ key: (item) => item.key, write: writer.write, ...limits });
  return { writer, commit };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('writes a lone item at once, alone', async () => {
    const { writer, commit } = groupCommit({ maxBatch: 8, maxInFlight: 2 });
    const result = commit.submit({ key: 'a', value: 1 });
    expect(writer.batches).toEqual([[{ key: 'a', value: 1 }]]);
    writer.finishers[0]!();
    await expect(result).resolves.toBe(10);
  });

  it('gathers the items that arrive while batches are out into the next batch, up to maxBatch', async () => {
    const { writer, commit } = groupCommit({ maxBatch: 3, maxInFlight: 1 });
    const results = Array.from({ length: 6 }, (_, value) => commit.submit({ key: `k${value}`, value }));
    expect(writer.batches.map((batch) => batch.map((item) => item.value))).toEqual([[0]]);
    expect(commit.waiting).toBe(5);

    writer.finishers[0]!();
    await flush();
    expect(writer.batches.map((batch) => batch.map((item) => item.value))).toEqual([[0], [1, 2, 3]]);
    writer.finishers[1]!();
    await flush();
    expect(writer.batches.map((batch) => batch.map((item) => item.value))).toEqual([[0], [1, 2, 3], [4, 5]]);
    writer.finishers[2]!();
    await expect(Promise.all(results)).resolves.toEqual([0, 10, 20, 30, 40, 50]);
    expect(commit.waiting).toBe(0);
  });

  it('never has one key in two batches at once, and keeps a key’s items in order', async () => {
    const { writer, commit } = groupCommit({ maxBatch: 10, maxInFlight: 3 });
    void commit.submit({ key: 'hot', value: 1 });
    void commit.submit({ key: 'hot', value: 2 });
    void commit.submit({ key: 'cold', value: 3 });
    void commit.submit({ key: 'hot', value: 4 });
    // 'hot' is out in the first batch: its later items wait, 'cold' goes at once.
    expect(writer.batches.map((batch) => batch.map((item) => item.value))).toEqual([[1], [3]]);
    writer.finishers[1]!();
    await flush();
    expect(writer.batches).toHaveLength(2);
    writer.finishers[0]!();
    await flush();
    expect(writer.batches.map((batch) => batch.map((item) => item.value))).toEqual([[1], [3], [2, 4]]);
  });

  it('fails only the items whose outcome is an error', async () => {
    const { writer, commit } = groupCommit({ maxBatch: 10, maxInFlight: 1 });
    void commit.submit({ key: 'a', value: 0 });
    const second = commit.submit({ key: 'b', value: 1 });
    const third = commit.submit({ key: 'c', value: 2 });
    writer.finishers[0]!();
    await flush();
    writer.finishers[1]!([
      { ok: false, error: new Error('refused') },
      { ok: true, value: 7 },
    ]);
    await expect(second).rejects.toThrow('refused');
    await expect(third).resolves.toBe(7);
  });

  it('fails every item of a batch whose write rejects, and goes on with the next batch', async () => {
    const { writer, commit } = groupCommit({ maxBatch: 10, maxInFlight: 1 });
    const first = commit.submit({ key: 'a', value: 0 });
    const second = commit.submit({ key: 'a', value: 1 });
    writer.failers[0]!(new Error('database unavailable'));
    await expect(first).rejects.toThrow('database unavailable');
    await flush();
    writer.finishers[1]!();
    await expect(second).resolves.toBe(10);
  });

  it('refuses limits below one', () => {
    expect(
      () => new GroupCommit({ key: String, write: async () => [], maxBatch: 0, maxInFlight: 1 }),
    ).toThrow(RangeError);
  });
});
