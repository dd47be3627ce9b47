import { describeError, OutageLog } from './outage-log';

function recordingLogger() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  return {
    lines,
    info: (fields: object, message: string) =>
      lines.push({ level: 'info', fields: fields as Record<string, unknown>, message }),
    warn: (fields: object, message: string) =>
      lines.push({ level: 'warn', fields: fields as Record<string, unknown>, message }),
  };
}

describe('OutageLog', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('logs an outage when it starts, every 10 s while it lasts with counts, and when it ends', () => {
    const logger = recordingLogger();
    const outage = new OutageLog(logger, 'Database');
    const down = new Error('connect ECONNREFUSED 127.0.0.1:5432');

    for (let i = 0; i < 500; i += 1) outage.report(down); // 500 events in the first moment
    jest.advanceTimersByTime(10_000);
    outage.report(down);
    jest.advanceTimersByTime(5_000);
    outage.report(down);
    outage.recovered();
    outage.recovered(); // nothing more: it is over

    expect(logger.lines.map((line) => [line.level, line.message, line.fields])).toEqual([
      ['warn', 'Database unavailable; retrying', { error: 'connect ECONNREFUSED 127.0.0.1:5432' }],
      [
        'warn',
        'Database still unavailable',
        { error: 'connect ECONNREFUSED 127.0.0.1:5432', forMs: 10_000, retriedSinceLastLine: 500 },
      ],
      ['info', 'Database available again', { forMs: 15_000, retried: 502 }],
    ]);
  });

  it('takes a quiet spell as the end of an outage when only failures are seen', () => {
    const logger = recordingLogger();
    const outage = new OutageLog(logger, 'A dependency', 10_000, 30_000);
    outage.report(new Error('down'));
    jest.advanceTimersByTime(60_000);
    outage.report(new Error('down again'));

    expect(logger.lines.map((line) => [line.level, line.message])).toEqual([
      ['warn', 'A dependency unavailable; retrying'],
      ['info', 'A dependency available again'],
      ['warn', 'A dependency unavailable; retrying'],
    ]);
  });
});

describe('describeError', () => {
  it('gives the messages of an error and its causes, never the objects they carry', () => {
    const driverError = Object.assign(new Error('Connection terminated unexpectedly'), {
      client: { password: 'secret', host: 'db.internal' },
    });
    const wrapped = new Error('Database unavailable', { cause: driverError });
    expect(describeError(wrapped)).toBe('Database unavailable: Connection terminated unexpectedly');
    expect(describeError('plain text')).toBe('plain text');
  });
});
