/**
 * Prometheus metrics of the receiver (prom-client, loaded only when metrics are made). Labels are
 * bounded sets (outcomes, error elements, reasons, status codes, adapter calls): never an address,
 * a domain or a message id.
 */
import { createRequire } from 'node:module';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Options of IScheduleMetrics. */
export interface MetricsOptions {
  /** Where the metrics are registered (default: a registry of their own, see `registry`). */
  readonly registry?: Registry;
  /** Prefix of every metric name (default `ischedule_`). */
  readonly prefix?: string;
}

/** How a request ended. */
export type RequestOutcome = 'accepted' | 'refused' | 'deferred' | 'failed';

/**
 * The receiver's metrics: give one to `createIScheduleHandler({ metrics })` and expose
 * `metrics.registry.metrics()` where your Prometheus scrapes.
 */
export class IScheduleMetrics {
  readonly registry: Registry;
  readonly #requests: Counter<'outcome' | 'error'>;
  readonly #recipients: Counter<'status'>;
  readonly #verificationFailures: Counter<'reason'>;
  readonly #limited: Counter<'limit'>;
  readonly #verification: Histogram<string>;
  readonly #adapter: Histogram<'call'>;
  readonly #replayEntries: Gauge<string>;
  #replaySize: (() => number | undefined) | undefined;

  constructor(options: MetricsOptions = {}) {
    const prom = createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
    this.registry = options.registry ?? new prom.Registry();
    const registers = [this.registry];
    const name = (suffix: string) => `${options.prefix ?? 'ischedule_'}${suffix}`;
    const counter = <Label extends string>(suffix: string, help: string, label: Label) =>
      new prom.Counter<Label>({ name: name(suffix), help, labelNames: [label], registers });
    this.#requests = new prom.Counter({
      name: name('requests_total'),
      help: 'Scheduling POSTs by outcome and IS:error element (none when accepted)',
      labelNames: ['outcome', 'error'],
      registers,
    });
    this.#recipients = counter(
      'recipients_total',
      'Recipients answered, by REQUEST-STATUS code (2.0, 3.7, 5.1, ...)',
      'status',
    );
    this.#verificationFailures = counter(
      'verification_failures_total',
      'DKIM verification failures by reason',
      'reason',
    );
    this.#limited = counter(
      'limited_total',
      'Requests answered 503 by a limit (perAddress, perDomain, concurrency)',
      'limit',
    );
    this.#verification = new prom.Histogram({
      name: name('verification_seconds'),
      help: 'Signature verification, key lookup included',
      buckets: [0.0005, 0.001, 0.005, 0.02, 0.1, 0.5, 2, 5],
      registers,
    });
    this.#adapter = new prom.Histogram({
      name: name('adapter_seconds'),
      help: "The host adapter's calls",
      labelNames: ['call'],
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10],
      registers,
    });
    const replaySize = () => this.#replaySize?.();
    this.#replayEntries = new prom.Gauge({
      name: name('replay_store_entries'),
      help: 'Signatures the in-process replay store remembers',
      registers,
      collect() {
        const size = replaySize();
        if (size !== undefined) this.set(size);
      },
    });
  }

  request(outcome: RequestOutcome, error = 'none'): void {
    this.#requests.inc({ outcome, error });
  }

  recipient(requestStatus: string): void {
    this.#recipients.inc({ status: /^\d\.\d{1,2}/.exec(requestStatus)?.[0] ?? 'other' });
  }

  verificationFailure(reason: string): void {
    this.#verificationFailures.inc({ reason });
  }

  limited(limit: string): void {
    this.#limited.inc({ limit });
  }

  verification(seconds: number): void {
    this.#verification.observe(seconds);
  }

  adapterCall(call: 'lookupUser' | 'deliverToInbox' | 'getFreeBusy', seconds: number): void {
    this.#adapter.observe({ call }, seconds);
  }

  /** Reports the size of an in-process replay store (`size`), when it has one. */
  watchReplayStore(store: object): void {
    if ('size' in store) this.#replaySize = () => Number((store as { size: number }).size);
    else this.#replayEntries.set(0);
  }
}
