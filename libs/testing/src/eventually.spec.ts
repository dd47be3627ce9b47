import { eventually } from './eventually';

describe('eventually', () => {
  it('returns what the probe returned once it stops throwing', async () => {
    let calls = 0;
    const value = await eventually(
      () => {
        calls += 1;
        if (calls < 3) throw new Error(`not yet (${calls})`);
        return 'ready';
      },
      { intervalMs: 1 },
    );

    expect(value).toBe('ready');
    expect(calls).toBe(3);
  });

  it('retries a probe that rejects until it resolves', async () => {
    let calls = 0;
    await expect(
      eventually(
        async () => {
          calls += 1;
          if (calls < 2) throw new Error('rejected');
          return calls;
        },
        { intervalMs: 1 },
      ),
    ).resolves.toBe(2);
  });

  it('retries a boolean probe until it returns true', async () => {
    let calls = 0;
    const result = await eventually(() => ++calls >= 4, { intervalMs: 1 });

    expect(result).toBe(true);
    expect(calls).toBe(4);
  });

  it('accepts a probe that returns nothing, as with expect assertions', async () => {
    let calls = 0;
    await eventually(
      () => {
        calls += 1;
        expect(calls).toBeGreaterThan(1);
      },
      { intervalMs: 1 },
    );

    expect(calls).toBe(2);
  });

  it('fails after the timeout with the description and the last failure', async () => {
    let calls = 0;
    const failure = eventually(
      () => {
        calls += 1;
        throw new Error(`member still present (attempt ${calls})`);
      },
      { timeoutMs: 100, intervalMs: 10, description: 'the member to be removed' },
    );

    await expect(failure).rejects.toThrow(/Timed out after 100 ms .*waiting for the member to be removed/);
    await expect(failure).rejects.toThrow(
      new RegExp(`last failure: member still present \\(attempt ${calls}\\)`),
    );
    await expect(failure).rejects.toMatchObject({
      cause: expect.objectContaining({ message: expect.any(String) }),
    });
    expect(calls).toBeGreaterThan(1);
  });

  it('says when a boolean probe kept returning false', async () => {
    await expect(eventually(() => false, { timeoutMs: 50, intervalMs: 5 })).rejects.toThrow(
      /waiting for the probe to succeed; last failure: the probe returned false/,
    );
  });

  it('does not let a hanging probe stretch the timeout', async () => {
    const started = Date.now();
    const hanging = eventually(() => new Promise<never>(() => undefined), { timeoutMs: 150 });

    await expect(hanging).rejects.toThrow(/did not finish before the deadline/);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
