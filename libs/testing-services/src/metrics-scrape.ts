/** One sample of Prometheus' text exposition format: `name{label="value",…} number`. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A service's metrics as scraped once (`GET http://<METRICS address>/metrics`). */
export class MetricsScrape {
  private constructor(readonly samples: MetricSample[]) {}

  static async of(metricsAddress: string): Promise<MetricsScrape> {
    const response = await fetch(`http://${metricsAddress}/metrics`);
    if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
    const type = response.headers.get('content-type') ?? '';
    if (!type.startsWith('text/plain')) throw new Error(`GET /metrics answered ${type}, not text/plain`);
    return new MetricsScrape(MetricsScrape.parse(await response.text()));
  }

  static parse(text: string): MetricSample[] {
    const samples: MetricSample[] = [];
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`Not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[pair[1]!] = pair[2]!;
      }
      samples.push({ name: match[1]!, labels, value: Number(match[3]) });
    }
    return samples;
  }

  /** The one series with this name and (at least) these labels; 0 while it does not exist yet. */
  value(name: string, labels: Record<string, string> = {}): number {
    const found = this.series(name, labels);
    if (found.length > 1) throw new Error(`${found.length} series match ${name} ${JSON.stringify(labels)}`);
    return found[0]?.value ?? 0;
  }

  /** Every series with this name and (at least) these labels. */
  series(name: string, labels: Record<string, string> = {}): MetricSample[] {
    return this.samples.filter(
      (sample) =>
        sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    );
  }
}
