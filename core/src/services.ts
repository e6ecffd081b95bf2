import type { Logger, ServiceContainer, ServiceOptions, Services, ServiceToken } from '@switchyard/sdk';
import { CoreErrors } from './errors';

interface Entry {
  id: string | symbol;
  owner: string;
  factory: (() => unknown) | undefined;
  value: unknown;
  made: boolean;
  dispose: ((value: unknown) => void | Promise<void>) | undefined;
}

function label(id: string | symbol): string {
  return typeof id === 'symbol' ? (id.description ?? 'symbol') : id;
}

/**
 * One gateway generation's services, by typed token. A generation (a start, then each
 * reload) builds its own registry beside the old one; `dispose()` runs the services'
 * `dispose` in reverse order of creation when that generation stops. `seal()` is called
 * once the generation serves: from then on `get`/`find` throw, so nothing resolves per
 * request.
 */
export class ServiceRegistry implements Services {
  readonly #entries = new Map<string | symbol, Entry>();
  /** Created values, in creation order (disposed in reverse). */
  readonly #made: Entry[] = [];
  #owner = '@switchyard/core';
  #sealed = false;
  #disposed = false;

  /** The plugin whose step is running, to name it in errors. */
  setOwner(owner: string): void {
    this.#owner = owner;
  }

  #add(id: string | symbol, factory: (() => unknown) | undefined, value: unknown, dispose: Entry['dispose'], replace: boolean): void {
    const existing = this.#entries.get(id);
    if (existing && !replace) throw CoreErrors.SERVICE_DUPLICATE.with({ plugin: this.#owner }, label(id), existing.owner, this.#owner);
    const entry: Entry = { id, owner: this.#owner, factory, value, made: factory === undefined, dispose };
    this.#entries.set(id, entry);
    if (entry.made) this.#made.push(entry);
  }

  provide<T>(token: ServiceToken<T>, value: T, options: ServiceOptions<T> = {}): void {
    this.#add(token.id, undefined, value, options.dispose as Entry['dispose'], false);
  }

  provideFactory<T>(token: ServiceToken<T>, factory: () => T, options: ServiceOptions<T> = {}): void {
    this.#add(token.id, factory, undefined, options.dispose as Entry['dispose'], false);
  }

  #value(entry: Entry): unknown {
    if (!entry.made) {
      entry.value = entry.factory!();
      entry.made = true;
      this.#made.push(entry);
    }
    return entry.value;
  }

  find<T>(token: ServiceToken<T>): T | undefined {
    if (this.#sealed) throw CoreErrors.SERVICE_LATE(token.id);
    const entry = this.#entries.get(token.id);
    return entry ? (this.#value(entry) as T) : undefined;
  }

  get<T>(token: ServiceToken<T>): T {
    if (this.#sealed) throw CoreErrors.SERVICE_LATE(token.id);
    const entry = this.#entries.get(token.id);
    if (!entry) {
      const offered = [...this.#entries.values()].filter((e) => typeof e.id === 'string' && !e.owner.startsWith('@switchyard/core')).map((e) => label(e.id));
      throw CoreErrors.SERVICE_MISSING(token.id, offered.join(', ') || 'none');
    }
    return this.#value(entry) as T;
  }

  has(token: ServiceToken<unknown>): boolean {
    return this.#entries.has(token.id);
  }

  /** Who offers each service (for `switchyard plugins`). */
  owners(): Array<{ id: string; owner: string }> {
    return [...this.#entries.values()].filter((e) => typeof e.id === 'string').map((e) => ({ id: label(e.id), owner: e.owner }));
  }

  seal(): void {
    this.#sealed = true;
  }

  /** Disposes every created service, newest first; a failing dispose is logged, not thrown. */
  async dispose(logger: Logger): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const entry of this.#made.reverse()) {
      if (!entry.dispose) continue;
      try {
        await entry.dispose(entry.value);
      } catch (err) {
        logger.error({ err, plugin: entry.owner, service: label(entry.id) }, `disposing service ${label(entry.id)} (${entry.owner}) failed`);
      }
    }
    this.#made.length = 0;
  }

  /** The deprecated string-keyed view (`gateway.container`) over the same entries; never sealed. */
  legacy(): ServiceContainer {
    const reg = this;
    const view: ServiceContainer = {
      register(token, provider) {
        reg.#add(token, undefined, provider.useValue, undefined, true);
        return view;
      },
      isRegistered(token) {
        return reg.#entries.has(token);
      },
      resolve<T>(token: string | symbol): T {
        const entry = reg.#entries.get(token);
        if (!entry) throw CoreErrors.SERVICE_MISSING(label(token), [...reg.#entries.keys()].map(label).join(', ') || 'none');
        return reg.#value(entry) as T;
      },
    };
    return view;
  }
}
