/**
 * Prometheus metrics of the receiver and the client (prom-client, loaded only when metrics are
 * made). Labels are bounded sets (outcomes, error elements, reasons, status codes, adapter calls,
 * key methods): never an address, a domain or a message id.
 */
import { createRequire } from 'node:module';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { KeyResolver } from './dkim/resolvers.js';

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
 * How a key or capabilities lookup was answered: `hit` from cache without waiting, `fetched`
 * from the network (or a resolver that had to be waited for), `failed` when it could not be had.
 */
export type LookupResult = 'hit' | 'fetched' | 'failed';

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
  readonly #keyLookups: Counter<'method' | 'result'>;
  readonly #keyLookupSeconds: Histogram<'method'>;
  readonly #capabilityLookups: Counter<'result'>;
  readonly #capabilityFetchSeconds: Histogram<string>;
  #replaySize: (() => number | undefined) | undefined;

  constructor(options: MetricsOptions = {}) {
    const prom = createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
    this.registry = options.registry ?? new prom.Registry();
    const registers = [this.registry];
    const name = (suffix: string) => `${options.prefix ?? 'ischedule_'}${suffix}`;
    const counter = <Label extends string>(suffix: string, help: string, ...labels: Label[]) =>
      new prom.Counter<Label>({ name: name(suffix), help, labelNames: labels, registers });
    const histogram = <Label extends string>(
      suffix: string,
      help: string,
      buckets: number[],
      ...labels: Label[]
    ) => new prom.Histogram<Label>({ name: name(suffix), help, buckets, labelNames: labels, registers });
    this.#requests = counter(
      'requests_total',
      'Scheduling POSTs by outcome and IS:error element (none when accepted)',
      'outcome',
      'error',
    );
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
    this.#verification = histogram(
      'verification_seconds',
      'Signature verification, key lookup included',
      [0.0005, 0.001, 0.005, 0.02, 0.1, 0.5, 2, 5],
    );
    this.#adapter = histogram(
      'adapter_seconds',
      "The host adapter's calls",
      [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10],
      'call',
    );
    this.#keyLookups = counter(
      'key_lookups_total',
      'Public key lookups by q= method and result (hit: from cache, fetched, failed)',
      'method',
      'result',
    );
    this.#keyLookupSeconds = histogram(
      'key_lookup_seconds',
      'Public key lookups that were not answered from cache, by q= method',
      [0.001, 0.005, 0.02, 0.1, 0.5, 2, 5],
      'method',
    );
    this.#capabilityLookups = counter(
      'capabilities_lookups_total',
      "Receivers' capabilities asked for by the client, by result (hit: from cache, fetched, failed)",
      'result',
    );
    this.#capabilityFetchSeconds = histogram(
      'capabilities_fetch_seconds',
      "GETs of receivers' capabilities by the client",
      [0.005, 0.02, 0.1, 0.5, 2, 10, 30],
    );
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

  /** A public key lookup; `seconds` when it was not a cache hit. */
  keyLookup(method: string, result: LookupResult, seconds?: number): void {
    this.#keyLookups.inc({ method, result });
    if (seconds !== undefined) this.#keyLookupSeconds.observe({ method }, seconds);
  }

  /** A receiver's capabilities asked for by the client; `seconds` when they were fetched. */
  capabilitiesLookup(result: LookupResult, seconds?: number): void {
    this.#capabilityLookups.inc({ result });
    if (seconds !== undefined) this.#capabilityFetchSeconds.observe(seconds);
  }

  /** Reports the size of an in-process replay store (`size`), when it has one. */
  watchReplayStore(store: object): void {
    if ('size' in store) this.#replaySize = () => Number((store as { size: number }).size);
    else this.#replayEntries.set(0);
  }
}

/** `keys`, counting each question asked of it in `metrics`: cache hits, fetches and failures. */
export function observedKeys(keys: KeyResolver, metrics: IScheduleMetrics): KeyResolver {
  const cached = keys.cached?.bind(keys);
  return {
    methods: keys.methods,
    ...(cached && {
      cached(query) {
        const records = cached(query);
        if (records !== undefined) metrics.keyLookup(query.method, 'hit');
        return records;
      },
    }),
    async lookup(query) {
      const started = performance.now();
      try {
        const records = await keys.lookup(query);
        metrics.keyLookup(query.method, 'fetched', (performance.now() - started) / 1000);
        return records;
      } catch (error) {
        metrics.keyLookup(query.method, 'failed', (performance.now() - started) / 1000);
        throw error;
      }
    },
  };
}
